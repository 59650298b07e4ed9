"""The reminder's table of moves: what `reminder_states.move` allows, what it refuses, and what it writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from clinic_reminders import reminder_states
from clinic_reminders.models import Event, Reminder, ReminderStatus
from clinic_reminders.reminder_states import ReminderStateError
from tests.factories import make_appointment, make_patient
from tests.integration.dispatch_support import make_dispatch_clinic, make_dispatch_office

S = ReminderStatus
LATER = datetime(2030, 6, 12, 16, 0, tzinfo=UTC)


@pytest.fixture
def reminder(session: Session) -> Reminder:
    office = make_dispatch_office(session)
    clinic = make_dispatch_clinic(session, office)
    appointment = make_appointment(session, clinic, make_patient(session, office), starts_at=LATER + timedelta(days=2))
    row = session.scalars(select(Reminder).where(Reminder.appointment_id == appointment.id)).one()
    session.commit()
    return row


def _put(session: Session, reminder: Reminder, status: ReminderStatus) -> None:
    """A reminder in `status` (as a worker holds one when sending), with no event yet."""
    reminder.status, reminder.reason = status, "before"
    reminder.lease_owner = "worker-1" if status == S.SENDING else None
    reminder.lease_expires_at = LATER if status == S.SENDING else None
    session.execute(delete(Event))
    session.commit()


def _events(session: Session) -> list[Event]:
    session.expire_all()
    return list(session.scalars(select(Event).order_by(Event.id)))


# What must never happen, whatever the caller: a reminder sent without a claim, sent twice, or rewritten after
# the fact (a sent reminder skipped or cancelled would hide from the trail that the patient got it).
REFUSED = [
    (S.PLANNED, S.SENT),
    (S.PLANNED, S.FAILED),
    (S.SENT, S.SENDING),
    (S.SENT, S.SENT),
    (S.SENT, S.SKIPPED),
    (S.SENT, S.CANCELLED),
    (S.SENT, S.MISSED),
    (S.FAILED, S.SENT),
    (S.FAILED, S.SENDING),
    (S.FAILED, S.SKIPPED),
    (S.CANCELLED, S.SENDING),
    (S.CANCELLED, S.SENT),
    (S.SKIPPED, S.FAILED),
    (S.MISSED, S.SENT),
]


@pytest.mark.parametrize(("current", "to"), REFUSED)
def test_it_refuses_a_move_the_table_does_not_allow_and_changes_nothing(
    session: Session, reminder: Reminder, current: ReminderStatus, to: ReminderStatus
) -> None:
    _put(session, reminder, current)
    due = LATER if to == S.PLANNED else None
    with pytest.raises(ReminderStateError, match=f"that is {current} cannot become {to}"):
        reminder_states.move(session, reminder, to, "after", due_at=due)
    session.commit()
    session.expire_all()
    assert (reminder.status, reminder.reason) == (current, "before")
    assert _events(session) == []


ALLOWED = [(current, to) for current, targets in reminder_states.ALLOWED.items() for to in sorted(targets)]
MOVED = sorted((current, to) for current, to in ALLOWED if to != S.SENDING)  # into SENDING only by a claim


def test_the_table_has_every_state_and_every_move_the_flows_make() -> None:
    assert set(reminder_states.ALLOWED) == set(ReminderStatus)
    made = {
        (S.PLANNED, S.SENDING),  # a worker's claim
        (S.SENDING, S.SENDING),  # a dead worker's claim taken over
        (S.SENDING, S.SENT),
        (S.SENDING, S.FAILED),
        (S.SENDING, S.PLANNED),  # quiet hours, pacing, a sender on hold, a transient error, reconciliation
        (S.SENDING, S.SKIPPED),  # the dispatcher's re-check
        (S.SENDING, S.CANCELLED),
        (S.SENDING, S.MISSED),
        (S.SENT, S.PLANNED),  # a status callback's retry, or the appointment moved
        (S.SENT, S.FAILED),
        (S.FAILED, S.PLANNED),  # the appointment moved
        (S.PLANNED, S.PLANNED),  # re-planned for a new time
        (S.CANCELLED, S.PLANNED),  # the appointment booked again
        (S.SKIPPED, S.PLANNED),  # confirmed, then back to scheduled
        (S.PLANNED, S.SKIPPED),
        (S.PLANNED, S.CANCELLED),
        (S.PLANNED, S.MISSED),
    }
    assert made <= set(ALLOWED)
    assert not set(REFUSED) & set(ALLOWED)


@pytest.mark.parametrize(("current", "to"), MOVED)
def test_an_allowed_move_writes_its_fields_and_one_event_when_the_told_status_changes(
    session: Session, reminder: Reminder, current: ReminderStatus, to: ReminderStatus
) -> None:
    _put(session, reminder, current)
    due = LATER + timedelta(hours=1) if to == S.PLANNED else None
    reason = None if to == S.SENT else "after"
    reminder_states.move(session, reminder, to, reason, due_at=due, message_id=77 if to == S.SENT else None)
    session.commit()
    session.expire_all()
    assert (reminder.status, reminder.reason) == (to, reason)
    if due is not None:
        assert reminder.due_at == due
    assert reminder.lease_owner is None and reminder.lease_expires_at is None  # out of a worker's hands
    found = _events(session)
    told = S.PLANNED if current == S.SENDING else current  # a claim is not news: it is told as still planned
    if told == to:
        assert found == []
        return
    [event] = found
    assert event.type == f"reminder.{to}"
    assert (event.office_id, event.appointment_id, event.reminder_id) == (
        reminder.office_id,
        reminder.appointment_id,
        reminder.id,
    )
    assert event.message_id == (77 if to == S.SENT else None)
    assert event.payload["previous"] == told and event.payload["reason"] == reason
    assert event.payload["due_at"] == (due.isoformat() if due else None)


def test_only_a_claim_takes_a_reminder_into_sending(session: Session, reminder: Reminder) -> None:
    _put(session, reminder, S.SENDING)
    with pytest.raises(ReminderStateError, match="claim"):
        reminder_states.move(session, reminder, S.SENDING, "still sending")
    session.commit()
    session.expire_all()
    assert (reminder.status, reminder.reason, reminder.lease_owner) == (S.SENDING, "before", "worker-1")


def test_a_move_into_planned_needs_its_due_time_and_only_that_move_takes_one(
    session: Session, reminder: Reminder
) -> None:
    _put(session, reminder, S.SENDING)
    with pytest.raises(ReminderStateError, match="due time"):
        reminder_states.move(session, reminder, S.PLANNED, "retrying")
    with pytest.raises(ReminderStateError, match="due time"):
        reminder_states.move(session, reminder, S.SENT, None, due_at=LATER)
    session.commit()
    session.expire_all()
    assert reminder.status == S.SENDING and _events(session) == []
