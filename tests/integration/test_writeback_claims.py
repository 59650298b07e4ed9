"""Fan-out and claims: one delivery per event and destination, sent in order per appointment (per patient for
events about no appointment), each to one worker at a time; on PostgreSQL an event committed after a later one is
still delivered."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders import events
from clinic_reminders.models import Delivery, Destination, Event, EventType, Office, utcnow
from clinic_reminders.writeback import claims, fanout, outcomes
from clinic_reminders.writeback.backoff import RetryPolicy
from clinic_reminders.writeback.engine import resume, retry
from tests.factories import make_office
from tests.integration.writeback_support import add_destination

NOW = utcnow()
LEASE = timedelta(seconds=5)
POLICY = RetryPolicy.of(10, 3600, 3 * 86400)
SETTLE = timedelta(seconds=60)


@pytest.fixture
def office(session: Session) -> Office:
    office = make_office(session)
    session.commit()
    return office


def event(db: Session, office: Office, type: EventType, **ids: int) -> int:
    events.record(db, office.id, type, **ids)
    db.commit()
    return int(db.scalar(select(Event.id).order_by(Event.id.desc()).limit(1)) or 0)


def claimed(db: Session, destination: Destination, owner: str = "w1", limit: int = 10) -> list[claims.Claim]:
    found = claims.claim(db, destination.id, owner, NOW, LEASE, limit)
    db.commit()
    return found


def settle(db: Session, got: list[claims.Claim], outcome: outcomes.Outcome) -> outcomes.Recorded:
    recorded = outcomes.record(db, [(claim, outcome) for claim in got], NOW, POLICY)
    db.commit()
    return recorded


def test_each_appointment_and_patient_goes_in_order_and_the_others_alongside(session: Session, office: Office) -> None:
    destination = add_destination(session, office.id, "https://pms.example.com/hooks")
    a1 = event(session, office, EventType.PATIENT_ANSWERED, appointment_id=1, patient_id=7)
    a2 = event(session, office, EventType.APPOINTMENT_CONFIRMED, appointment_id=1, patient_id=7)
    b1 = event(session, office, EventType.APPOINTMENT_CANCELLED, appointment_id=2, patient_id=8)
    p1 = event(session, office, EventType.PATIENT_OPTED_OUT, patient_id=7)
    p2 = event(session, office, EventType.PATIENT_OPTED_IN, patient_id=7)
    lone = event(session, office, EventType.MESSAGE_DELIVERED, message_id=3)
    assert fanout.fan_out(session, NOW, SETTLE) == 6
    session.commit()

    first = claimed(session, destination)
    assert [c.event_id for c in first] == [a1, b1, p1, lone]  # one per appointment and patient at a time
    assert claimed(session, destination, "w2") == []  # the rest wait, and leased ones are no one else's
    settle(session, [c for c in first if c.event_id != p1], outcomes.Delivered("HTTP 200 OK"))
    settle(session, [c for c in first if c.event_id == p1], outcomes.Failed("HTTP 503 Service Unavailable"))

    second = claimed(session, destination)
    assert [c.event_id for c in second] == [a2]  # p2 waits while p1 backs off, undelivered
    session.expire_all()
    opted_out = session.scalars(select(Delivery).where(Delivery.event_id == p1)).one()
    assert opted_out.attempts == 1 and opted_out.last_error == "HTTP 503 Service Unavailable"
    assert NOW + timedelta(seconds=5) <= opted_out.next_attempt_at <= NOW + timedelta(seconds=10)
    retry(session, opted_out, NOW)
    session.commit()
    assert [c.event_id for c in claimed(session, destination)] == [p1]
    assert p2 > p1


def test_a_lease_holds_until_it_runs_out_and_then_the_first_worker_records_nothing(
    session: Session, office: Office
) -> None:
    destination = add_destination(session, office.id, "https://pms.example.com/hooks")
    event(session, office, EventType.APPOINTMENT_CONFIRMED, appointment_id=1)
    fanout.fan_out(session, NOW, SETTLE)
    session.commit()
    [mine] = claimed(session, destination, "w1")
    later = NOW + LEASE + timedelta(seconds=1)
    [theirs] = claims.claim(session, destination.id, "w2", later, LEASE, 10)
    session.commit()
    assert theirs.delivery_id == mine.delivery_id
    assert settle(session, [mine], outcomes.Delivered("HTTP 200 OK")).written == 0  # w2 holds it now
    assert settle(session, [theirs], outcomes.Delivered("HTTP 200 OK")).written == 1
    session.expire_all()
    assert session.scalars(select(Delivery.status)).one() == "delivered"


def test_fan_out_takes_the_types_asked_for_once_and_leaves_paused_destinations_for_later(
    session: Session, office: Office
) -> None:
    before = event(session, office, EventType.APPOINTMENT_CREATED, appointment_id=1)
    picky = add_destination(session, office.id, "https://a.example.com", event_types=["appointment.confirmed"])
    paused = add_destination(session, office.id, "https://b.example.com", name="Paused")
    assert picky.cursor == paused.cursor == before  # a new destination starts at the end of the outbox
    outcomes.pause(session, paused.id, "test", NOW)
    session.commit()
    confirmed = event(session, office, EventType.APPOINTMENT_CONFIRMED, appointment_id=1)
    event(session, office, EventType.REMINDER_SENT, appointment_id=1, reminder_id=4)
    other_office = make_office(session, name="Elsewhere")
    event(session, other_office, EventType.APPOINTMENT_CONFIRMED, appointment_id=9)

    assert fanout.fan_out(session, NOW, SETTLE) == 1
    assert fanout.fan_out(session, NOW, SETTLE) == 0  # nothing twice
    session.commit()
    assert list(session.scalars(select(Delivery.event_id).where(Delivery.destination_id == picky.id))) == [confirmed]
    session.refresh(paused)
    assert paused.cursor == before
    assert resume(session, paused, NOW) == 0
    session.commit()
    assert fanout.fan_out(session, NOW, SETTLE) == 2  # what happened during the pause, its office's only
    session.commit()


@pytest.mark.parametrize("database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_an_event_that_commits_after_a_later_one_is_still_delivered(
    session_factory: sessionmaker[Session], office: Office
) -> None:
    with session_factory() as db:
        destination = add_destination(db, office.id, "https://pms.example.com/hooks")
    with session_factory() as slow, session_factory() as fast, session_factory() as reader:  # closed if it fails
        one_commits_late(slow, fast, reader, office, destination)


def one_commits_late(slow: Session, fast: Session, reader: Session, office: Office, destination: Destination) -> None:
    events.record(slow, office.id, EventType.APPOINTMENT_CONFIRMED, appointment_id=1)
    slow.flush()  # its id is taken, its transaction still open
    early = int(slow.scalar(select(Event.id)) or 0)
    late = event(fast, office, EventType.APPOINTMENT_CANCELLED, appointment_id=2)
    assert late > early

    assert fanout.fan_out(reader, utcnow(), SETTLE) == 1
    reader.commit()
    assert reader.get(Destination, destination.id).cursor < early  # type: ignore[union-attr]
    slow.commit()
    assert fanout.fan_out(reader, utcnow(), SETTLE) == 1
    reader.commit()
    got = list(reader.scalars(select(Delivery.event_id).where(Delivery.destination_id == destination.id)))
    assert sorted(got) == [early, late]
    # Once both are older than the settle time the cursor moves past them, and they are not read again.
    assert fanout.fan_out(reader, utcnow() + SETTLE + timedelta(seconds=5), SETTLE) == 0
    reader.commit()
    assert reader.get(Destination, destination.id).cursor == late  # type: ignore[union-attr]


@pytest.mark.parametrize("database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_concurrent_claims_skip_each_others_rows(session_factory: sessionmaker[Session], office: Office) -> None:
    with session_factory() as db:
        destination = add_destination(db, office.id, "https://pms.example.com/hooks")
        for appointment_id in (1, 2, 3):
            event(db, office, EventType.APPOINTMENT_CONFIRMED, appointment_id=appointment_id)
        fanout.fan_out(db, NOW, SETTLE)
        db.commit()
    with session_factory() as first, session_factory() as second:
        mine = claims.claim(first, destination.id, "w1", NOW, LEASE, 1)  # not committed: its rows are locked
        theirs = claims.claim(second, destination.id, "w2", NOW, LEASE, 10)
        assert len(mine) == 1 and len(theirs) == 2
        assert {c.delivery_id for c in mine}.isdisjoint(c.delivery_id for c in theirs)
