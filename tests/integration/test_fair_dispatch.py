"""Many offices in one dispatcher, on SQLite and PostgreSQL: each office's reminders go out through its own
Twilio account, and a claim shares its batch fairly, so one office's backlog never holds another's reminders
due now back."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders.crypto import SecretBox
from clinic_reminders.db import transaction
from clinic_reminders.dispatcher import offices
from clinic_reminders.dispatcher.leases import claim_due
from clinic_reminders.dispatcher.offices import Offices
from clinic_reminders.models import Appointment, Office, Reminder, ReminderRule, ReminderStatus
from clinic_reminders.simulator import AccountConfig, NumberConfig, SimulatorConfig
from tests.conftest import TEST_SECRET_KEY
from tests.factories import make_patient, register_office
from tests.fixtures.simulator import SimulatorClient
from tests.integration.dispatch_support import (
    NOW,
    book,
    make_dispatch_clinic,
    make_dispatch_office,
    run_worker,
    worker_settings,
)

T = TypeVar("T")
LEASE = timedelta(seconds=30)
# Two accounts, each owning one number that the other does not (not the magic "valid From" any account may use).
ACCOUNT_A = ("AC" + "a1" * 16, "token-of-office-a-0123456789abcdef", "+14155550100")
ACCOUNT_B = ("AC" + "b2" * 16, "token-of-office-b-0123456789abcdef", "+14155550111")


def two_accounts() -> SimulatorConfig:
    return SimulatorConfig(
        accounts=[
            AccountConfig(sid=sid, auth_token=token, numbers=[NumberConfig(number)])
            for sid, token, number in (ACCOUNT_A, ACCOUNT_B)
        ],
        callback_delay_ms=5,
    )


def on_account(session: Session, name: str, account: tuple[str, str, str]) -> Office:
    """An office whose own Twilio account is saved on its configuration screen (no TWILIO_* environment)."""
    sid, token, number = account
    office = make_dispatch_office(session)
    office.name = name
    office.twilio_account_sid = sid
    office.twilio_auth_token_encrypted = SecretBox(TEST_SECRET_KEY).encrypt(token)
    office.twilio_phone_number = number
    register_office(session, office)  # texts from a long code wait for carrier registration otherwise
    session.flush()
    return office


NO_DEPLOYMENT_ACCOUNT = {"twilio_account_sid": None, "twilio_auth_token": None, "twilio_phone_number": None}


def test_each_office_sends_through_its_own_account(
    session: Session, session_factory: sessionmaker[Session], database_url: str, simulator: SimulatorClient
) -> None:
    simulator.reset(two_accounts())
    first, second = on_account(session, "First", ACCOUNT_A), on_account(session, "Second", ACCOUNT_B)
    patients = {}
    for office in (first, second):
        clinic = make_dispatch_clinic(session, office)
        patients[office.id] = [make_patient(session, office) for _ in range(3)]
        for patient in patients[office.id]:
            book(session, clinic, patient)
    numbers = {office_id: [p.phones[0].number for p in theirs] for office_id, theirs in patients.items()}
    settings = worker_settings(database_url, simulator, **NO_DEPLOYMENT_ACCOUNT)

    run_worker(settings, session_factory)

    sent = {m["to"]: (m["account_sid"], m["from"]) for m in simulator.messages()}
    assert len(simulator.messages()) == 6
    for office, (sid, _, number) in ((first, ACCOUNT_A), (second, ACCOUNT_B)):
        assert [sent[to] for to in numbers[office.id]] == [(sid, number)] * 3
    statuses = set(session.scalars(select(Reminder.status)))
    assert statuses == {ReminderStatus.SENT}


def test_an_office_whose_credentials_change_gets_a_new_gateway(
    session: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    simulator: SimulatorClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(offices, "CONFIG_TTL", 0.0)  # read the configurations again at every round
    first, second = on_account(session, "First", ACCOUNT_A), on_account(session, "Second", ACCOUNT_A)
    session.commit()
    settings = worker_settings(database_url, simulator, **NO_DEPLOYMENT_ACCOUNT)

    async def rounds() -> tuple[bool, bool, str, bool]:
        lines = Offices(settings)
        await lines.refresh(_run_db(session_factory))
        a, b = lines.of(first.id), lines.of(second.id)
        assert a is not None and b is not None
        shared = a.account is b.account  # one account: one gateway, one cap
        with transaction(session_factory) as db:
            moved = db.get(Office, second.id)
            assert moved is not None
            moved.twilio_account_sid = ACCOUNT_B[0]
            moved.twilio_auth_token_encrypted = SecretBox(TEST_SECRET_KEY).encrypt(ACCOUNT_B[1])
        await lines.refresh(_run_db(session_factory))
        a2, b2 = lines.of(first.id), lines.of(second.id)
        assert a2 is not None and b2 is not None
        kept = a2.account is a.account
        await lines.aclose()
        return shared, kept, b2.account.gateway.account_sid, b2.account is a2.account

    assert asyncio.run(rounds()) == (True, True, ACCOUNT_B[0], False)


def _run_db(sessions: sessionmaker[Session]) -> Callable[[Callable[[Session], T]], Awaitable[T]]:
    async def run(work: Callable[[Session], T]) -> T:
        with transaction(sessions) as db:
            return work(db)

    return run


def _backlog(session: Session, office: Office, count: int, due_at: datetime) -> None:
    """`count` appointments of one patient, each with one text reminder due at `due_at` (bulk, for speed)."""
    clinic = make_dispatch_clinic(session, office)
    patient = make_patient(session, office)
    rule_id = session.scalars(select(ReminderRule.id).where(ReminderRule.office_id == office.id)).one()
    starts = NOW + timedelta(days=1)
    session.execute(
        insert(Appointment),
        [
            {"office_id": office.id, "clinic_id": clinic.id, "patient_id": patient.id, "starts_at": starts}
            for _ in range(count)
        ],
    )
    appointment_ids = session.scalars(select(Appointment.id).where(Appointment.office_id == office.id))
    session.execute(
        insert(Reminder),
        [
            {
                "office_id": office.id,
                "appointment_id": appointment_id,
                "rule_id": rule_id,
                "channel": "sms",
                "due_at": due_at,
                "planned_for": starts,
                "status": ReminderStatus.PLANNED,
            }
            for appointment_id in appointment_ids
        ],
    )
    session.commit()


def _claimed_of(session: Session, office: Office, ids: set[int]) -> int:
    return len(set(session.scalars(select(Reminder.id).where(Reminder.office_id == office.id))) & ids)


def test_a_few_reminders_due_now_are_claimed_in_the_first_batch_beside_a_big_backlog(session: Session) -> None:
    broadcaster, small = make_dispatch_office(session), make_dispatch_office(session)
    _backlog(session, broadcaster, 3_000, NOW - timedelta(hours=1))  # due earlier than the small office's
    _backlog(session, small, 3, NOW - timedelta(minutes=1))

    first = {lease.reminder_id for lease in claim_due(session, "worker-a", NOW, LEASE, 200)}
    session.commit()

    assert _claimed_of(session, small, first) == 3  # all of them, at once
    assert _claimed_of(session, broadcaster, first) == 197  # what the small office left goes to the other
    second = {lease.reminder_id for lease in claim_due(session, "worker-b", NOW, LEASE, 200)}
    assert _claimed_of(session, broadcaster, second) == 200  # oldest first, none claimed twice
    assert not first & second


def test_a_batch_is_shared_equally_between_busy_offices_and_only_among_those_asked(session: Session) -> None:
    busy = [make_dispatch_office(session) for _ in range(3)]
    for office in busy:
        _backlog(session, office, 100, NOW - timedelta(minutes=5))

    claimed = {lease.reminder_id for lease in claim_due(session, "worker-a", NOW, LEASE, 90, [busy[0].id, busy[2].id])}

    assert [_claimed_of(session, office, claimed) for office in busy] == [45, 0, 45]


def test_an_account_with_every_slot_taken_holds_back_only_its_own_offices_claims(
    session: Session, session_factory: sessionmaker[Session], database_url: str, simulator: SimulatorClient
) -> None:
    first, second = on_account(session, "First", ACCOUNT_A), on_account(session, "Second", ACCOUNT_B)
    session.commit()
    settings = worker_settings(database_url, simulator, twilio_concurrency=5, **NO_DEPLOYMENT_ACCOUNT)

    async def rooms() -> list[tuple[list[int], int]]:
        lines = Offices(settings)
        await lines.refresh(_run_db(session_factory))
        busy = lines.of(first.id)
        assert busy is not None
        seen = [lines.with_room()]
        busy.account.in_flight = 10  # two per slot: as many as it claims for
        seen.append(lines.with_room())
        await lines.aclose()
        return seen

    assert asyncio.run(rooms()) == [([first.id, second.id], 10), ([second.id], 10)]
