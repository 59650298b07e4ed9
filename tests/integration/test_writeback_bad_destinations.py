"""Bad destinations (an untrusted certificate, 4xx forever, nothing listening, no answer in time) never hold up a
good one or the reminders: the service, with its embedded dispatcher and write-back, texts the patient and
delivers every event to the good destination while the bad ones keep failing, each with its own reason."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders.benchmarks import synthetic
from clinic_reminders.models import Delivery, Destination, Office
from clinic_reminders.tls import make_certificate, make_key
from clinic_reminders.web.app import create_app
from tests.fixtures.simulator import SimulatorClient, free_port
from tests.integration.dispatch_support import worker_settings
from tests.integration.writeback_support import (
    Receiver,
    _receiver_server,
    add_destination,
    eventually,
    receiver,
    statuses,
)

__all__ = ["_receiver_server", "receiver"]  # fixtures


@pytest.fixture
def untrusted_url(tmp_path: Path, _receiver_server: Receiver) -> Iterator[str]:
    """The same receiver behind HTTPS with a self-signed certificate that nobody trusts."""
    issued = make_certificate(["127.0.0.1"], key=make_key("ec"), common_name="Self-signed PMS")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_bytes(issued.cert_pem)
    key.write_bytes(issued.key_pem)
    port = free_port()
    config = uvicorn.Config(
        _receiver_server.app, host="127.0.0.1", port=port, ssl_certfile=str(cert), ssl_keyfile=str(key)
    )
    server = uvicorn.Server(config)
    config.log_level = "warning"
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    eventually(lambda: server.started, 15)
    yield f"https://127.0.0.1:{port}/hooks/tls"
    server.should_exit = True
    thread.join(timeout=10)


def test_bad_destinations_hold_up_neither_a_good_one_nor_the_reminders(
    engine: Engine,
    database_url: str,
    session_factory: sessionmaker[Session],
    simulator: SimulatorClient,
    receiver: Receiver,
    untrusted_url: str,
) -> None:
    good = receiver.endpoint("good")
    receiver.endpoint("tls")
    receiver.endpoint("rejects", status=400)
    receiver.endpoint("slow", delay=3.0)
    synthetic.seed_due_reminders(session_factory, 20)
    patients = list(synthetic.numbers(20))
    with session_factory() as db:
        office = db.scalars(select(Office)).one()
        bad = {
            "tls": add_destination(db, office.id, untrusted_url, name="Untrusted"),
            "rejects": add_destination(db, office.id, receiver.url_of("rejects"), name="Rejects"),
            "closed": add_destination(db, office.id, f"http://127.0.0.1:{free_port()}/hooks", name="Closed"),
            "slow": add_destination(db, office.id, receiver.url_of("slow"), name="Slow", timeout=0.3),
        }
        fine = add_destination(db, office.id, receiver.url_of("good"), name="Good")
    settings = worker_settings(
        database_url, simulator, embedded_worker=True, writeback_retry_first=0.05, writeback_retry_longest=0.2
    )

    started = time.monotonic()
    with TestClient(create_app(settings, engine)):
        eventually(lambda: len(simulator.messages()) == 20, 30)  # every reminder went out
        texted = time.monotonic() - started
        eventually(lambda: set(statuses(session_factory, fine.id)) == {"delivered"} and good.received("reminder.sent"))
        eventually(lambda: len(good.received("reminder.sent")) == 20)
        eventually(lambda: all(last_result(session_factory, d.id) for d in bad.values()))

    assert {m["to"] for m in simulator.messages()} == set(patients)
    assert texted < 20  # the reminders did not wait for the bad destinations' timeouts
    assert last_result(session_factory, bad["tls"].id).startswith("Failed: TLS certificate not trusted")
    assert last_result(session_factory, bad["rejects"].id) == "Failed: HTTP 400 Bad Request"
    assert last_result(session_factory, bad["closed"].id) == "Failed: connection refused"
    assert last_result(session_factory, bad["slow"].id) == "Failed: timed out (ReadTimeout)"
    with session_factory() as db:
        for destination in bad.values():
            assert db.get(Destination, destination.id).paused_at is None  # type: ignore[union-attr]
            query = select(Delivery.status, Delivery.attempts).where(Delivery.destination_id == destination.id)
            rows = db.execute(query).all()
            assert rows and all(status == "pending" for status, _ in rows)
            assert max(attempts for _, attempts in rows) >= 1


def last_result(sessions: sessionmaker[Session], destination_id: int) -> str:
    with sessions() as db:
        return db.scalar(select(Destination.last_result).where(Destination.id == destination_id)) or ""
