"""`reminders demo` shows a registered office: its text goes out through the Messaging Service and the simulated
carriers deliver it. `reminders demo --unregistered` shows the other path: the same text waits, with its reason,
and nothing reaches the carriers (which would block it with 30034)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders import accounts, demo, planning
from clinic_reminders.cli import main
from clinic_reminders.db import make_engine, make_sessionmaker
from clinic_reminders.dispatcher.worker import Worker
from clinic_reminders.models import Clinic, Office, Registration, RegistrationState, Reminder, ReminderStatus
from clinic_reminders.registration.senders import WAITING_FOR_REGISTRATION
from clinic_reminders.settings import Settings
from clinic_reminders.web.app import create_app
from tests.factories import make_appointment, make_patient
from tests.fixtures.simulator import LateApp, ThreadedServer, wait_until

PATIENT = "+13035550177"


@pytest.fixture
def demo_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_PHONE_NUMBER", "TWILIO_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return f"sqlite:///{tmp_path / 'demo.db'}"


def _seed(url: str, *flags: str) -> str:
    result = CliRunner().invoke(main, ["demo", "--seed-only", "--database-url", url, *flags])
    assert result.exit_code == 0, result.output
    return result.output


def _a_text_due_now(sessions: sessionmaker[Session]) -> int:
    """A new patient's visit in three days, its text reminder due now, at an hour texts may go out."""
    with sessions() as db, db.begin():
        office = accounts.the_office(db)
        office.quiet_hours_start, office.quiet_hours_end = time(0, 0), time(23, 59)
        clinic = db.scalars(select(Clinic).order_by(Clinic.id)).first()
        assert clinic is not None
        patient = make_patient(db, office, "Noor", "Haddad", phone=PATIENT)
        planning.ensure_default_rules(db, office)
        visit = make_appointment(db, clinic, patient, starts_at=datetime.now(UTC) + timedelta(days=3))
        reminder = db.scalars(
            select(Reminder).where(Reminder.appointment_id == visit.id, Reminder.channel == "sms")
        ).first()
        assert reminder is not None
        reminder.due_at = datetime.now(UTC) - timedelta(minutes=1)
        return reminder.id


@contextmanager
def _serving(url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Settings, str]]:
    """The demo's server (the simulator mounted in it), as `reminders demo` starts it."""
    late = LateApp()
    server = ThreadedServer(late)
    for name, value in demo.simulator_environment("127.0.0.1", server.port).items():
        monkeypatch.setenv(name, value)
    settings = Settings(database_url=url, demo=True, embedded_worker=False)
    late.app = create_app(settings)
    with server:
        yield settings, server.url


def _texts_to_the_patient(base: str) -> list[dict[str, Any]]:
    messages = httpx.get(f"{base}/simulator/api/messages").json()
    items = messages if isinstance(messages, list) else messages.get("messages", [])
    return [m for m in items if m["to"] == PATIENT]


def _dispatch(settings: Settings, sessions: sessionmaker[Session]) -> None:
    asyncio.run(Worker(settings, sessions, poll_interval=0.05, clock=lambda: datetime.now(UTC)).run(once=True))


def test_the_demo_office_is_registered_and_its_text_is_delivered(
    demo_dir: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "US carrier registration: approved" in _seed(demo_dir)
    sessions = make_sessionmaker(make_engine(demo_dir))
    with sessions() as db:
        office = accounts.the_office(db)
        assert office.twilio_phone_number == demo.DEMO_TWILIO_NUMBER and office.twilio_messaging_service_sid
        states = {r.kind: r.state for r in db.scalars(select(Registration))}
        assert states and set(states.values()) == {RegistrationState.APPROVED}
    reminder_id = _a_text_due_now(sessions)
    with _serving(demo_dir, monkeypatch) as (settings, base):
        _dispatch(settings, sessions)
        delivered = wait_until(lambda: [m for m in _texts_to_the_patient(base) if m["status"] == "delivered"])
    assert len(delivered) == 1 and delivered[0]["from"] == demo.DEMO_TWILIO_NUMBER
    with sessions() as db:
        assert db.get(Reminder, reminder_id).status == ReminderStatus.SENT  # type: ignore[union-attr]


def test_the_unregistered_demo_holds_the_text_with_its_reason(demo_dir: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(demo_dir)  # registered first: the switch must undo it
    assert "US carrier registration: none yet" in _seed(demo_dir, "--unregistered")
    sessions = make_sessionmaker(make_engine(demo_dir))
    with sessions() as db:
        office: Office = accounts.the_office(db)
        assert office.twilio_messaging_service_sid is None and not db.scalars(select(Registration)).all()
    reminder_id = _a_text_due_now(sessions)
    with _serving(demo_dir, monkeypatch) as (settings, base):
        _dispatch(settings, sessions)
        assert _texts_to_the_patient(base) == []
    with sessions() as db:
        reminder = db.get(Reminder, reminder_id)
        assert reminder is not None and reminder.status == ReminderStatus.PLANNED
        assert reminder.reason and reminder.reason.startswith(WAITING_FOR_REGISTRATION)
        assert "brand not submitted yet" in reminder.reason
