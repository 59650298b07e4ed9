"""Twenty patients answer YES to one offered slot at the same moment, through two web processes on PostgreSQL:
exactly one booking, nineteen polite refusals, and no double-booked slot."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import func, select

from clinic_reminders import booking
from clinic_reminders.db import make_engine, make_sessionmaker
from clinic_reminders.gateways import SIGNATURE_HEADER, compute_signature
from clinic_reminders.migrations import upgrade
from clinic_reminders.models import Appointment, OfferStatus, SlotStatus, WaitlistOffer, WaitlistSlot
from tests.conftest import TEST_SECRET_KEY, postgres_schema
from tests.fixtures.simulator import CLINIC_NUMBER, SimulatorClient, free_port
from tests.integration.dispatch_support import run_worker, worker_settings
from tests.integration.waitlist_support import cancel, make_waitlist_office, number_of, waiting

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
PATIENTS = 20


def serve(url: str, simulator: SimulatorClient, port: int, public_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "REMINDERS_DATABASE_URL": url,
        "REMINDERS_SECRET_KEY": TEST_SECRET_KEY,
        "REMINDERS_PUBLIC_URL": public_url,  # both sign against one public URL, as behind a load balancer
        "REMINDERS_EMBEDDED_WORKER": "false",
        "TWILIO_ACCOUNT_SID": simulator.account_sid,
        "TWILIO_AUTH_TOKEN": simulator.auth_token,
        "TWILIO_PHONE_NUMBER": CLINIC_NUMBER,
        "TWILIO_API_BASE_URL": simulator.base_url,
    }
    command = [sys.executable, "-m", "clinic_reminders", "serve", "--port", str(port)]
    return subprocess.Popen(command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


@pytest.fixture
def database() -> Iterator[str]:
    with postgres_schema() as url:
        upgrade(url)
        yield url


def test_twenty_yeses_at_once_through_two_web_processes_book_the_slot_once(
    database: str, simulator: SimulatorClient, tmp_path: Path
) -> None:
    engine = make_engine(database)
    sessions = make_sessionmaker(engine)
    with sessions() as db:
        place = make_waitlist_office(db, wave_size=PATIENTS)
        numbers = [number_of(waiting(db, place, f"Patient{i}")) for i in range(PATIENTS)]
        db.commit()
        cancel(db, place.freed)
        slot_start = place.freed.starts_at
    run_worker(worker_settings(database, simulator), sessions)
    assert sorted(m["to"] for m in simulator.messages()) == sorted(numbers)  # every patient holds the offer

    ports = [free_port(), free_port()]
    public_url = f"http://127.0.0.1:{ports[0]}"
    servers = [serve(database, simulator, port, public_url, tmp_path / f"web-{port}.log") for port in ports]
    try:
        for port in ports:
            _wait_for(f"http://127.0.0.1:{port}/healthz")
        answers = _all_at_once(ports, public_url, simulator.auth_token, numbers)
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)

    booked = [text for text in answers if text.startswith("Thank you, you are booked")]
    refused = [text for text in answers if text.startswith("Sorry, that time was just taken")]
    assert (len(booked), len(refused)) == (1, PATIENTS - 1), Counter(answers)
    with sessions() as db:
        holding = select(func.count()).select_from(Appointment)
        at_the_slot = holding.where(Appointment.starts_at == slot_start, Appointment.status.in_(booking.HOLDS_ITS_TIME))
        assert db.scalar(at_the_slot) == 1  # no double-booked slot
        statuses = Counter(db.scalars(select(WaitlistOffer.status)))
        assert statuses == {OfferStatus.ACCEPTED: 1, OfferStatus.TOO_LATE: PATIENTS - 1}
        assert db.scalars(select(WaitlistSlot.status)).one() == SlotStatus.FILLED
    engine.dispose()


def _wait_for(url: str, limit_s: float = 60) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer")


def _all_at_once(ports: list[int], public_url: str, token: str, numbers: list[str]) -> list[str]:
    """Each patient's signed YES, half to each process, released together; returns our answers."""
    barrier = threading.Barrier(len(numbers))
    answers: list[str] = [""] * len(numbers)

    def text(i: int, number: str) -> None:
        params = {"MessageSid": f"SM{i:032d}", "From": number, "To": CLINIC_NUMBER, "Body": "YES", "NumSegments": "1"}
        target = f"/app_confirm?{urlencode(params)}"
        headers = {SIGNATURE_HEADER: compute_signature(token, public_url + target)}
        with httpx.Client(base_url=f"http://127.0.0.1:{ports[i % 2]}", timeout=60) as client:
            client.get("/healthz")  # connected before the barrier: the YESes leave together
            barrier.wait()
            response = client.get(target, headers=headers)
        assert response.status_code == 200, response.text
        answers[i] = response.text.split("<Message", 1)[-1].split(">", 1)[-1].split("</Message>")[0]

    threads = [threading.Thread(target=text, args=(i, n)) for i, n in enumerate(numbers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return answers
