"""A `reminders worker` killed with SIGKILL in the middle of delivering an outage's backlog, on PostgreSQL: the
workers started after it (two, side by side) deliver every event, in order per appointment, and the receiver
that de-duplicates on `webhook-id` applies none twice (the killed worker's sends on their way go again)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders.benchmarks import synthetic
from clinic_reminders.db import make_engine, make_sessionmaker
from clinic_reminders.migrations import upgrade
from clinic_reminders.models import Delivery, Event, Office
from tests.conftest import TEST_SECRET_KEY, postgres_schema
from tests.integration.test_writeback_outage import PATIENTS, assert_the_pms_has_it_all, every_patient_answers
from tests.integration.writeback_support import (
    Receiver,
    _receiver_server,
    add_destination,
    all_delivered,
    eventually,
    receiver,
)

__all__ = ["_receiver_server", "receiver"]  # fixtures

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def start_worker(url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "REMINDERS_DATABASE_URL": url,
        "REMINDERS_SECRET_KEY": TEST_SECRET_KEY,
        "REMINDERS_WRITEBACK_TIMEOUT": "1",  # leases of 3 s: a killed worker's run out quickly
        "REMINDERS_WRITEBACK_CONCURRENCY": "16",
        "REMINDERS_WRITEBACK_RETRY_FIRST": "0.02",
        "REMINDERS_WRITEBACK_RETRY_LONGEST": "0.2",
    }
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_BASE_URL"):
        env.pop(name, None)  # no Twilio: the dispatcher beside it waits, write-back goes on
    return subprocess.Popen(
        [sys.executable, "-m", "clinic_reminders", "worker"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _most_attempts(sessions: sessionmaker[Session], destination_id: int) -> int:
    with sessions() as db:
        most = db.scalar(select(func.max(Delivery.attempts)).where(Delivery.destination_id == destination_id))
    return int(most or 0)


def test_a_worker_killed_mid_backlog_loses_nothing_and_the_receiver_applies_nothing_twice(
    receiver: Receiver, tmp_path: Path
) -> None:
    log = tmp_path / "workers.log"
    with postgres_schema() as url:
        upgrade(url)
        engine = make_engine(url)
        sessions: sessionmaker[Session] = make_sessionmaker(engine)
        synthetic.seed_due_reminders(sessions, PATIENTS)
        with sessions() as db:
            office_id = db.scalars(select(Office.id)).one()
            destination = add_destination(db, office_id, receiver.url_of("pms"))
            start = destination.cursor
        pms = receiver.endpoint("pms", status=503)
        first = start_worker(url, log)
        try:
            every_patient_answers(sessions)  # while the receiver refuses
            with sessions() as db:
                count = len(db.scalars(select(Event.id).where(Event.id > start)).all())
            eventually(lambda: _most_attempts(sessions, destination.id) >= 2, 60)  # the outage is met
            pms.status = 200
            eventually(lambda: len(pms.applied) >= count // 3, 60)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            killed_at = len(pms.applied)
            others = [start_worker(url, log) for _ in range(2)]
            try:
                eventually(lambda: all_delivered(sessions, destination.id, count), 120)
            finally:
                for worker in others:
                    worker.terminate()
                for worker in others:
                    assert worker.wait(timeout=30) == 0, log.read_text()[-3000:]
        finally:
            if first.poll() is None:
                first.kill()
        assert killed_at < count  # it died with work left
        with sessions() as db:
            assert_the_pms_has_it_all(db, pms, destination, start, tried=2)
        text = log.read_text()
        assert "Synthetic" not in text and "+1533555" not in text  # no patient data in the workers' logs
        engine.dispose()
