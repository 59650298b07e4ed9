"""Fencing, on SQLite and PostgreSQL: a worker that lost a reminder's lease (it was paused past it, another
worker took the reminder over) neither sends it nor writes anything about it; reconciliation takes a row over
only once the longest request its last holder could have had on the way is over."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders.dispatcher.leases import claim_due, prove
from clinic_reminders.dispatcher.worker import Worker
from clinic_reminders.models import Clinic, MessageStatus, Office, Reminder, ReminderStatus
from tests.factories import make_patient
from tests.fixtures.simulator import SimulatorClient, wait_until
from tests.integration.dispatch_support import (
    NOW,
    book,
    make_dispatch_clinic,
    make_dispatch_office,
    messages_of,
    reminder_of,
    run_worker,
    worker_settings,
)

LEASE = timedelta(seconds=30)


@pytest.fixture
def office(session: Session) -> Office:
    return make_dispatch_office(session)


@pytest.fixture
def clinic(session: Session, office: Office) -> Clinic:
    return make_dispatch_clinic(session, office)


def take_over(session: Session, reminder_id: int, *, expired: bool = False) -> int:
    """What another worker's claim does to the row: its own name and the next generation (and with `expired`,
    that worker has gone quiet too, long enough ago for anyone to take the row over). Returns the generation."""
    session.execute(
        update(Reminder)
        .where(Reminder.id == reminder_id)
        .values(
            lease_owner="another-worker",
            lease_generation=Reminder.lease_generation + 1,
            lease_expires_at=NOW - timedelta(hours=1) if expired else NOW + LEASE,
        )
    )
    session.commit()
    session.expire_all()
    taken = session.get(Reminder, reminder_id)
    assert taken is not None
    return taken.lease_generation


def test_a_claim_is_proven_by_its_owner_and_its_generation(session: Session, office: Office, clinic: Clinic) -> None:
    appointment = book(session, clinic, make_patient(session, office))
    [first] = claim_due(session, "worker-a", NOW, LEASE, 10)
    assert prove(session, "worker-a", [first], NOW + timedelta(seconds=5), LEASE) == {first.reminder_id}
    assert reminder_of(session, appointment).lease_expires_at == NOW + timedelta(seconds=5) + LEASE  # extended
    assert prove(session, "worker-b", [first], NOW, LEASE) == set()

    session.execute(update(Reminder).values(status=ReminderStatus.PLANNED, lease_owner=None))  # handed back...
    [again] = claim_due(session, "worker-a", NOW, LEASE, 10)  # ...and claimed again by the same worker
    assert again.generation == first.generation + 1
    assert prove(session, "worker-a", [first], NOW, LEASE) == set()  # the old claim is not this one
    assert prove(session, "worker-a", [again], NOW, LEASE) == {again.reminder_id}


def test_a_worker_that_lost_the_lease_before_sending_sends_nothing_and_leaves_the_row_alone(
    session: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    simulator: SimulatorClient,
    office: Office,
    clinic: Clinic,
) -> None:
    """The sender's pace (one text a second) holds the second reminder back for a second: meanwhile another
    worker takes it over, as it would from a worker paused past its lease."""
    first, second = (book(session, clinic, make_patient(session, office)) for _ in range(2))
    settings = worker_settings(database_url, simulator, sender_rate=1.0, lease_seconds=8.0)

    async def scenario() -> tuple[int, int]:
        worker = Worker(settings, session_factory, poll_interval=0.05, clock=lambda: NOW)
        await worker.tick()  # claims both, sends one now and holds the other back for the sender's pace
        [sent] = await asyncio.to_thread(wait_until, simulator.messages)
        waiting = second if sent["to"] == first.patient.phones[0].number else first
        generation = take_over(session, reminder_of(session, waiting).id)
        worker.stop()
        await worker.run()  # what it had in hand: the held-back send is due now
        return waiting.id, generation

    waiting_id, generation = asyncio.run(scenario())
    waiting = first if first.id == waiting_id else second
    assert len(simulator.messages()) == 1
    reminder = reminder_of(session, waiting)
    assert (reminder.status, reminder.lease_owner, reminder.lease_generation) == (
        ReminderStatus.SENDING,
        "another-worker",
        generation,
    )
    assert reminder.lease_expires_at == NOW + LEASE and reminder.reason is None
    [message] = messages_of(session, waiting)
    assert (message.status, message.twilio_sid) == (MessageStatus.PENDING, None)


def test_a_worker_that_lost_the_lease_while_twilio_answered_records_nothing_and_the_text_is_found_there(
    session: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    simulator: SimulatorClient,
    office: Office,
    clinic: Clinic,
    caplog: pytest.LogCaptureFixture,
) -> None:
    appointment = book(session, clinic, make_patient(session, office))
    settings = worker_settings(database_url, simulator)

    async def scenario() -> None:
        worker = Worker(settings, session_factory, poll_interval=0.05, clock=lambda: NOW)
        await worker.tick()
        await asyncio.to_thread(wait_until, simulator.messages)  # at Twilio; the worker has not recorded it yet
        take_over(session, reminder_of(session, appointment).id, expired=True)
        worker.stop()
        await worker.run()

    asyncio.run(scenario())
    [at_twilio] = simulator.messages()
    reminder = reminder_of(session, appointment)
    assert (reminder.status, reminder.lease_owner) == (ReminderStatus.SENDING, "another-worker")
    [message] = messages_of(session, appointment)
    assert (message.status, message.twilio_sid) == (MessageStatus.PENDING, None)
    assert f"reminder {reminder.id} went to Twilio ({at_twilio['sid']}) after another worker took it over" in (
        caplog.text
    )

    run_worker(settings, session_factory)  # a worker takes the abandoned row over and looks at Twilio first
    # Still the one text at Twilio (its status moves on meanwhile: queued, sent, delivered).
    assert [m["sid"] for m in simulator.messages()] == [at_twilio["sid"]]
    assert reminder_of(session, appointment).status == ReminderStatus.SENT
    assert messages_of(session, appointment)[0].twilio_sid == at_twilio["sid"]


def test_reconciliation_waits_out_the_longest_request_before_taking_a_row_over(
    session: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    simulator: SimulatorClient,
    office: Office,
    clinic: Clinic,
) -> None:
    appointment = book(session, clinic, make_patient(session, office))
    reminder_id = reminder_of(session, appointment).id
    settings = worker_settings(database_url, simulator, twilio_timeout=15.0)

    def left_by_a_worker(seconds_ago: float) -> None:
        session.execute(
            update(Reminder)
            .where(Reminder.id == reminder_id)
            .values(
                status=ReminderStatus.SENDING,
                lease_owner="paused-worker",
                lease_expires_at=NOW - timedelta(seconds=seconds_ago),
            )
        )
        session.commit()

    async def one_round() -> None:
        worker = Worker(settings, session_factory, poll_interval=0.05, clock=lambda: NOW)
        await worker.tick()
        worker.stop()
        await worker.run()

    left_by_a_worker(seconds_ago=10)  # its last request (15 s at most) could still reach Twilio
    asyncio.run(one_round())
    assert reminder_of(session, appointment).lease_owner == "paused-worker"
    assert simulator.messages() == []

    left_by_a_worker(seconds_ago=20)
    asyncio.run(one_round())
    assert reminder_of(session, appointment).status == ReminderStatus.SENT
    assert len(simulator.messages()) == 1
