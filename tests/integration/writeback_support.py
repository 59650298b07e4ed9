"""What the write-back tests share: a practice-management system's webhook receiver that checks every signature
with the `standardwebhooks` library and de-duplicates on `webhook-id`, destinations pointing at it, and an
engine run in a thread of its own until a condition holds."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clinic_reminders.crypto import SecretBox
from clinic_reminders.models import Delivery, DeliveryStatus, Destination
from clinic_reminders.settings import Settings
from clinic_reminders.writeback.engine import Engine
from tests.conftest import TEST_SECRET_KEY
from tests.fixtures.simulator import ThreadedServer

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@dataclass
class Arrival:
    webhook_id: str
    payload: dict[str, Any]


@dataclass
class Endpoint:
    """One receiving path: what it answers, and what it took."""

    secret: str = SECRET
    status: int = 200
    delay: float = 0.0
    arrivals: list[Arrival] = field(default_factory=list)  # every request whose signature held
    applied: list[Arrival] = field(default_factory=list)  # the first of each webhook-id: what the PMS applied
    forged: int = 0  # requests whose signature did not hold

    def received(self, event_type: str | None = None) -> list[dict[str, Any]]:
        return [a.payload for a in self.applied if event_type is None or a.payload["type"] == event_type]


class Receiver:
    """A practice-management system's webhook endpoint(s), `/hooks/<name>`."""

    def __init__(self) -> None:
        self.endpoints: dict[str, Endpoint] = {}
        self.url = ""
        self._lock = threading.Lock()
        self.app = Starlette(routes=[Route("/hooks/{name}", self._handle, methods=["POST"])])

    def endpoint(self, name: str, **answer: Any) -> Endpoint:
        self.endpoints[name] = Endpoint(**answer)
        return self.endpoints[name]

    def url_of(self, name: str) -> str:
        return f"{self.url}/hooks/{name}"

    async def _handle(self, request: Request) -> Response:
        endpoint = self.endpoints[request.path_params["name"]]
        body = await request.body()
        if endpoint.delay:
            await asyncio.sleep(endpoint.delay)
        if endpoint.status >= 300:
            return Response(b"", status_code=endpoint.status)
        try:
            payload = Webhook(endpoint.secret).verify(body, dict(request.headers))
        except WebhookVerificationError:
            endpoint.forged += 1
            return Response(b"bad signature", status_code=400)
        arrival = Arrival(request.headers["webhook-id"], payload)
        with self._lock:
            endpoint.arrivals.append(arrival)
            if all(a.webhook_id != arrival.webhook_id for a in endpoint.applied):
                endpoint.applied.append(arrival)
        return Response(b"", status_code=204)


def add_destination(
    db: Session, office_id: int, url: str, *, secret: str = SECRET, name: str = "PMS", **settings: Any
) -> Destination:
    destination = Destination(
        office_id=office_id,
        name=name,
        kind="webhook",
        settings={"url": url, **settings},
        secret_encrypted=SecretBox(TEST_SECRET_KEY).encrypt(secret),
    )
    db.add(destination)
    db.commit()
    return destination


def engine_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "secret_key": TEST_SECRET_KEY,
        "writeback_timeout": 2.0,
        "writeback_concurrency": 8,
        # Backoff on a fast scale: about 20 ms doubling up to 200 ms (10 s up to an hour in production).
        "writeback_retry_first": 0.02,
        "writeback_retry_longest": 0.2,
    }
    values.update(overrides)
    return Settings(**values)


@contextmanager
def running_engine(settings: Settings, sessions: sessionmaker[Session], **options: Any) -> Iterator[Engine]:
    """An engine delivering in a thread of its own (as in a worker process) until the block ends."""
    options.setdefault("poll_interval", 0.05)
    engine = Engine(settings, sessions, **options)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(engine.run(),), daemon=True)
    thread.start()
    try:
        yield engine
    finally:
        loop.call_soon_threadsafe(engine.stop)
        thread.join(timeout=30)
        loop.close()


def statuses(sessions: sessionmaker[Session], destination_id: int) -> dict[str, int]:
    with sessions() as db:
        rows = db.scalars(select(Delivery.status).where(Delivery.destination_id == destination_id))
        counts: dict[str, int] = {}
        for status in rows:
            counts[status] = counts.get(status, 0) + 1
        return counts


def all_delivered(sessions: sessionmaker[Session], destination_id: int, count: int) -> bool:
    return statuses(sessions, destination_id) == {DeliveryStatus.DELIVERED: count}


def eventually(probe: Callable[[], Any], limit_s: float = 30) -> Any:
    deadline = time.monotonic() + limit_s
    while not (value := probe()):
        assert time.monotonic() < deadline, f"gave up waiting after {limit_s} s"
        time.sleep(0.05)
    return value


def in_order_per_appointment(applied: list[Arrival]) -> dict[int, list[str]]:
    """The event types each appointment's receiver applied, checking the ids rose (the payload's order)."""
    seen: dict[int, list[int]] = {}
    types: dict[int, list[str]] = {}
    for arrival in applied:
        appointment = arrival.payload["data"]["appointment"]
        if appointment is None:
            continue
        number = int(arrival.payload["id"].removeprefix("evt_"))
        ids = seen.setdefault(appointment["id"], [])
        assert not ids or ids[-1] < number, f"appointment {appointment['id']}: {number} after {ids[-1]}"
        ids.append(number)
        types.setdefault(appointment["id"], []).append(arrival.payload["type"])
    return types


@pytest.fixture(scope="session")
def _receiver_server() -> Iterator[Receiver]:
    receiver = Receiver()
    with ThreadedServer(receiver.app) as server:
        receiver.url = server.url
        yield receiver


@pytest.fixture
def receiver(_receiver_server: Receiver) -> Receiver:
    _receiver_server.endpoints.clear()
    return _receiver_server
