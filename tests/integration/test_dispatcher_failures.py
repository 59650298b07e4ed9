"""The dispatcher outlives database errors: it logs them without patient data, pauses, reconnects and goes on,
and its heartbeat row keeps the last failure."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders.benchmarks import synthetic
from clinic_reminders.db import make_engine, make_sessionmaker
from clinic_reminders.dispatcher.supervisor import Dispatcher
from clinic_reminders.dispatcher.worker import Worker
from clinic_reminders.migrations import upgrade
from clinic_reminders.models import Message, Reminder, ReminderStatus, WorkerHeartbeat, utcnow
from clinic_reminders.web.app import create_app
from tests.conftest import postgres_schema
from tests.fixtures.simulator import SimulatorClient
from tests.integration.dispatch_support import worker_settings

PATIENT_NUMBER = next(synthetic.numbers(1))


def seed_one_reminder(sessions: sessionmaker[Session], due: datetime) -> None:
    synthetic.seed_due_reminders(sessions, 1)
    with sessions() as db, db.begin():
        db.execute(update(Reminder).values(due_at=due))


def eventually(probe: Callable[[], Any], limit_s: float = 30) -> Any:
    deadline = time.monotonic() + limit_s
    while not (value := probe()):
        assert time.monotonic() < deadline, f"gave up waiting after {limit_s} s"
        time.sleep(0.05)
    return value


def heartbeat(sessions: sessionmaker[Session]) -> WorkerHeartbeat | None:
    with sessions() as db:
        return db.scalar(select(WorkerHeartbeat))


def reminder_sent(sessions: sessionmaker[Session]) -> bool:
    with sessions() as db:
        return db.scalar(select(Reminder.status)) == ReminderStatus.SENT


def assert_no_patient_data(log: str, sessions: sessionmaker[Session]) -> None:
    with sessions() as db:
        body = db.scalar(select(Message.body))
    assert body and body not in log
    assert PATIENT_NUMBER not in log and "Pat0" not in log


def test_the_embedded_dispatcher_outlives_a_locked_database_and_then_sends_what_fell_due(
    tmp_path: Path, simulator: SimulatorClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    path = tmp_path / "locked.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = make_engine(url, sqlite_busy_timeout_ms=200)  # writers give up after 0.2 s instead of 30 s
    sessions = make_sessionmaker(engine)
    seed_one_reminder(sessions, due=utcnow() + timedelta(days=1))
    settings = worker_settings(url, simulator, embedded_worker=True, heartbeat_seconds=0.2)

    with TestClient(create_app(settings, engine)):
        eventually(lambda: heartbeat(sessions))
        make_due(url, at=utcnow() + timedelta(seconds=1))  # it falls due while the database is locked
        locker = sqlite3.connect(path, isolation_level=None)
        locker.execute("BEGIN IMMEDIATE")  # another connection holds the write lock for 3 s, 15 times the timeout
        locked_at = utcnow()
        time.sleep(3)
        stale = heartbeat(sessions)
        locker.execute("ROLLBACK")
        released_at = utcnow()
        eventually(lambda: reminder_sent(sessions))
        beat = eventually(lambda: (b := heartbeat(sessions)) and b.seen_at > released_at and b)
        locker.close()

    assert stale is not None and stale.seen_at < locked_at + timedelta(seconds=1)  # no beat while locked
    assert beat.failing_since is None and beat.failure == "OperationalError (database is locked)"
    assert beat.failed_at is not None and locked_at <= beat.failed_at <= released_at + timedelta(seconds=1)
    assert len(simulator.messages(to=PATIENT_NUMBER)) == 1
    assert "the database failed: OperationalError (database is locked); trying again in" in caplog.text
    assert "the database answers again" in caplog.text
    assert_no_patient_data(caplog.text, sessions)
    engine.dispose()


@pytest.mark.postgres
def test_a_worker_whose_connections_were_cut_reconnects_and_goes_on(
    simulator: SimulatorClient, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"fencing-{uuid.uuid4().hex[:8]}"
    with postgres_schema() as url:
        upgrade(url)
        # No pre-ping: the worker itself meets the dead connection, as it would one cut mid-transaction.
        engine = make_engine(url, pool_pre_ping=False, connect_args={"application_name": name})
        sessions = make_sessionmaker(engine)
        seed_one_reminder(sessions, due=utcnow() + timedelta(days=1))
        settings = worker_settings(url, simulator, heartbeat_seconds=0.2)

        async def scenario() -> None:
            dispatcher = Dispatcher(lambda: Worker(settings, sessions, poll_interval=0.05))
            running = asyncio.create_task(dispatcher.run())
            await asyncio.to_thread(eventually, lambda: heartbeat(sessions))
            await asyncio.to_thread(cut_connections, url, name)
            await asyncio.to_thread(make_due, url, utcnow())
            # Read on an engine of our own: the worker's pool still holds cut connections, and the worker (not
            # this probe) is the one that must meet them.
            await asyncio.to_thread(eventually, lambda: reminder_sent(probe))
            dispatcher.stop()
            await running

        probe_engine = make_engine(url)
        probe = make_sessionmaker(probe_engine)
        asyncio.run(scenario())
        probe_engine.dispose()
        assert len(simulator.messages(to=PATIENT_NUMBER)) == 1
        assert "the database failed: OperationalError" in caplog.text
        assert_no_patient_data(caplog.text, sessions)
        engine.dispose()


def cut_connections(url: str, application_name: str) -> None:
    admin = make_engine(url)
    with admin.begin() as conn:
        cut = conn.scalar(
            text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :name"),
            {"name": application_name},
        )
    admin.dispose()
    assert cut


def make_due(url: str, at: datetime) -> None:
    """On an engine of its own (the worker's may hold only dead connections)."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(update(Reminder).values(due_at=at))
    engine.dispose()
