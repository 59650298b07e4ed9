"""The write-back engine outlives a database that fails (here: locked by another writer for seconds): it logs
without patient data, backs off, and delivers once the database answers again."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from clinic_reminders.accounts import the_office
from clinic_reminders.benchmarks import synthetic
from clinic_reminders.conversations import inbound_sms
from clinic_reminders.db import make_engine, make_sessionmaker
from clinic_reminders.migrations import upgrade
from clinic_reminders.models import Office, utcnow
from tests.integration.writeback_support import (
    Receiver,
    _receiver_server,
    add_destination,
    engine_settings,
    eventually,
    receiver,
    running_engine,
)

__all__ = ["_receiver_server", "receiver"]  # fixtures


def test_it_outlives_a_locked_database_and_then_delivers(
    tmp_path: Path, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    path = tmp_path / "locked.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = make_engine(url, sqlite_busy_timeout_ms=200)
    sessions = make_sessionmaker(engine)
    synthetic.seed_due_reminders(sessions, 1)
    [number] = synthetic.numbers(1)
    with sessions() as db:
        add_destination(db, db.scalars(select(Office.id)).one(), receiver.url_of("pms"))
    pms = receiver.endpoint("pms")

    with running_engine(engine_settings(url), sessions):
        with sessions() as db, db.begin():
            inbound_sms.handle(
                db,
                the_office(db).id,
                {"MessageSid": "SM1", "From": number, "To": "+15005550006", "Body": "1"},
                utcnow(),
            )
        locker = sqlite3.connect(path, isolation_level=None)
        locker.execute("BEGIN IMMEDIATE")  # another writer holds the lock for 2 s, ten times the busy timeout
        time.sleep(2)
        locker.execute("ROLLBACK")
        locker.close()
        eventually(lambda: pms.received("appointment.confirmed"))

    assert "write-back: the database failed: OperationalError (database is locked); trying again in" in caplog.text
    assert "write-back: the database answers again" in caplog.text
    assert number not in caplog.text and "Pat0" not in caplog.text
    engine.dispose()
