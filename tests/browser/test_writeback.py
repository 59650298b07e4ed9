"""Write-back in Chromium: an admin adds a webhook from the configuration page, copies its secret from the one page
that shows it, sends a test event that a real HTTP receiver in the test gets, and sends a failed delivery again
from the Deliveries page.

The server runs in this process (`ThreadedServer`), so the webhook transport is a small one of this test's, put in
the registry's place: it POSTs the payload to the destination's URL. (The signed transport is the delivery
engine's, tested with it.)
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from clinic_reminders import accounts, demo
from clinic_reminders.db import make_engine, make_sessionmaker
from clinic_reminders.models import Base, Delivery, Destination, Office
from clinic_reminders.settings import Settings
from clinic_reminders.web.app import create_app
from clinic_reminders.writeback import registry
from clinic_reminders.writeback.transports import DeliveryFailed, DestinationConfig, Payload
from tests.browser.test_staff_pages import Live, sign_in
from tests.conftest import TEST_SECRET_KEY
from tests.fixtures.simulator import ThreadedServer
from tests.web.writeback_support import add_delivery

pytestmark = pytest.mark.browser


@dataclass
class Receiver:
    """An HTTP server that answers 200 and keeps what it was sent (headers and JSON body)."""

    url: str
    received: list[tuple[dict[str, str], Any]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    received: list[tuple[dict[str, str], Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            received.append((dict(self.headers.items()), json.loads(body)))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Receiver(f"http://127.0.0.1:{server.server_address[1]}/hooks/reminders", received)
    server.shutdown()
    server.server_close()


class PostingTransport:
    kind = "webhook"

    def send(self, destination: DestinationConfig, payload: Payload, *, timeout: float) -> str:
        try:
            answer = httpx.post(
                destination.settings["url"], json=payload, headers={"webhook-id": payload["id"]}, timeout=timeout
            )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(type(exc).__name__) from exc
        if answer.status_code >= 300:
            raise DeliveryFailed(f"HTTP {answer.status_code}")
        return f"HTTP {answer.status_code}"


@pytest.fixture
def office_live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    url = f"sqlite:///{tmp_path / 'writeback.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    sessions = make_sessionmaker(engine)
    with sessions() as db, db.begin():
        demo.ensure_demo_users(db, accounts.the_office(db))
    monkeypatch.setattr(registry, "transport_for", lambda kind: PostingTransport())
    settings = Settings(database_url=url, secret_key=TEST_SECRET_KEY, embedded_worker=False)
    with ThreadedServer(create_app(settings, engine)) as server:
        yield Live(server.url, sessions, settings)
    engine.dispose()


def test_an_admin_adds_a_webhook_tests_it_and_sends_a_delivery_again(
    page: Page, office_live: Live, receiver: Receiver
) -> None:
    live = office_live
    sign_in(page, live, "/config")
    section = page.locator("#writeback")
    expect(section).to_contain_text("No destination")
    section.get_by_role("link", name="Manage write-back").click()
    page.get_by_role("link", name="Signed webhook (JSON over HTTPS)").click()
    page.get_by_label("Name").fill("Practice system")
    page.get_by_label("URL").fill(receiver.url)
    page.get_by_label("appointment.confirmed").check()
    page.get_by_role("button", name="Add destination").click()

    expect(page.get_by_role("heading", name="The signing secret of “Practice system”")).to_be_visible()
    secret = page.get_by_label("Signing secret").input_value()
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{32}", secret)
    page.get_by_role("link", name="I have stored it").click()

    card = page.locator("section.destination", has_text="Practice system")
    expect(card).to_contain_text(receiver.url)
    expect(card).to_contain_text("No test sent yet.")
    card.get_by_role("button", name="Send a test event").click()
    expect(page.locator(".flash")).to_contain_text("Test event sent to “Practice system”: OK: HTTP 200")
    expect(card.locator(".last-result")).to_contain_text("OK: HTTP 200")
    headers, body = receiver.received[-1]
    assert body["type"] == "writeback.test" and headers["webhook-id"] == body["id"]
    assert secret not in page.content()

    with live.sessions() as db, db.begin():
        destination = db.scalars(select(Destination)).one()
        assert destination.settings["event_types"] == ["appointment.confirmed"]
        office = db.get(Office, destination.office_id)
        assert office is not None
        failed = add_delivery(db, office, destination, "failed", appointment_id=3, last_error="HTTP 502")
        failed_id = failed.id
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Deliveries").click()
    row = page.locator(f"#delivery-{failed_id}")
    expect(row).to_contain_text("Failed")
    expect(row).to_contain_text("HTTP 502")
    row.get_by_role("button", name="Send again").click()
    expect(page.locator(".flash")).to_contain_text(f"Delivery {failed_id} is sent again")
    expect(page.locator(f"#delivery-{failed_id}")).to_contain_text("Pending")
    with live.sessions() as db:
        assert db.get(Delivery, failed_id).status == "pending"  # type: ignore[union-attr]
