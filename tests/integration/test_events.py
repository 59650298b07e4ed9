"""Every change writes exactly one outbox event, in its own transaction: appointments (one by one and in batches),
reminders (planning, the dispatcher, status callbacks), patients' answers, opt-outs and opt-ins, and delivery
outcomes. Each test compares the states before and after against the events written meanwhile."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders import booking, patient_changes
from clinic_reminders.conversations import delivery, inbound_sms, voice_calls
from clinic_reminders.messaging.delivery import FINAL
from clinic_reminders.models import (
    Appointment,
    AppointmentStatus,
    Channel,
    Clinic,
    Direction,
    Event,
    Message,
    MessageStatus,
    Office,
    Patient,
    Reminder,
    ReminderRule,
    ReminderStatus,
)
from tests.factories import make_patient
from tests.fixtures.simulator import CLINIC_NUMBER, SimulatorClient
from tests.integration.dispatch_support import (
    NOW,
    book,
    make_dispatch_clinic,
    make_dispatch_office,
    reminder_of,
    run_worker,
    worker_settings,
)

Change = tuple[str, int]  # (event type, the id of the row it is about)


@dataclass(frozen=True)
class _State:
    last_event: int
    appointments: dict[int, str]
    reminders: dict[int, str]
    messages: dict[int, str]
    opted_out: dict[int, tuple[bool, bool]]  # patient id: (texts, calls)
    inbound: frozenset[int]


def _state(db: Session) -> _State:
    db.expire_all()
    return _State(
        last_event=db.scalar(select(func.max(Event.id))) or 0,
        appointments={i: status for i, status in db.execute(select(Appointment.id, Appointment.status))},
        # A claim is not news (reminder_states): a reminder in a worker's hands is told as still planned.
        reminders={
            i: ReminderStatus.PLANNED if status == ReminderStatus.SENDING else status
            for i, status in db.execute(select(Reminder.id, Reminder.status))
        },
        # Delivery outcomes are what Twilio reported of a message it took (one with a SID); one it refused is
        # told by its reminder's event.
        messages={
            i: status
            for i, status in db.execute(select(Message.id, Message.status).where(Message.twilio_sid.is_not(None)))
        },
        opted_out={
            p.id: (p.sms_opted_out_at is not None, p.voice_opted_out_at is not None)
            for p in db.scalars(select(Patient))
        },
        inbound=frozenset(db.scalars(select(Message.id).where(Message.direction == Direction.INBOUND))),
    )


def _expected(before: _State, after: _State) -> Counter[Change]:
    """The events the changes between two states call for (status changes, opt-outs, answers)."""
    expected: Counter[Change] = Counter()
    for kind, old, new in (
        ("appointment", before.appointments, after.appointments),
        ("reminder", before.reminders, after.reminders),
    ):
        for row_id, status in new.items():
            if row_id in old and old[row_id] != status:
                expected[(f"{kind}.{status}", row_id)] += 1
    for row_id, status in after.messages.items():
        if before.messages.get(row_id, MessageStatus.PENDING) != status and status in FINAL:
            expected[(f"message.{status}", row_id)] += 1
    for patient_id, (sms, voice) in after.opted_out.items():
        for was, now in zip(before.opted_out.get(patient_id, (False, False)), (sms, voice), strict=True):
            if was != now:
                expected[("patient.opted-out" if now else "patient.opted-in", patient_id)] += 1
    for message_id in after.inbound - before.inbound:
        expected[("patient.answered", message_id)] += 1
    return expected


def _subject(event: Event) -> int | None:
    if event.type.startswith("appointment."):
        return event.appointment_id
    if event.type.startswith("reminder."):
        return event.reminder_id
    if event.type in ("patient.opted-out", "patient.opted-in"):
        return event.patient_id
    return event.message_id


class Outbox:
    """`changes()`: what happened since the last call, checked against the outbox (and then returned)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.before = _state(session)

    def events(self) -> list[Event]:
        query = select(Event).where(Event.id > self.before.last_event).order_by(Event.id)
        return list(self.session.scalars(query))

    def changes(self, *, besides: Counter[Change] | None = None) -> list[Change]:
        """`besides`: events that are not a status change (an appointment created, moved or edited)."""
        after = _state(self.session)
        written = self.events()
        found = Counter((event.type, _subject(event)) for event in written)
        assert found == _expected(self.before, after) + (besides or Counter())
        assert {event.office_id for event in written} <= set(self.session.scalars(select(Office.id)))
        self.before = after
        return [(event.type, _subject(event) or 0) for event in written]


@pytest.fixture
def office(session: Session) -> Office:
    return make_dispatch_office(session)


@pytest.fixture
def clinic(session: Session, office: Office) -> Clinic:
    return make_dispatch_clinic(session, office)


@pytest.fixture
def outbox(session: Session, office: Office, clinic: Clinic) -> Iterator[Outbox]:
    yield Outbox(session)


def _book(session: Session, clinic: Clinic, patient: Patient, hours: int = 48) -> Appointment:
    appointment = Appointment(
        office_id=clinic.office_id, clinic=clinic, patient=patient, starts_at=NOW + timedelta(hours=hours)
    )
    booking.create(session, appointment, "user:1")
    session.commit()
    return appointment


def test_each_appointment_change_writes_one_event(
    session: Session, office: Office, clinic: Clinic, outbox: Outbox
) -> None:
    patient = make_patient(session, office)
    appointment = _book(session, clinic, patient)
    assert outbox.changes(besides=Counter({("appointment.created", appointment.id): 1})) == [
        ("appointment.created", appointment.id)
    ]
    created = session.scalars(select(Event)).one()
    assert (created.patient_id, created.payload) == (patient.id, {"by": "user:1"})

    booking.update(session, appointment, {"starts_at": appointment.starts_at + timedelta(hours=1)}, "user:1")
    booking.update(session, appointment, {"reason": "Knee pain"}, "user:1")
    booking.update(session, appointment, {"reason": "Knee pain"}, "user:1")  # no change: no event
    session.commit()
    besides = Counter({("appointment.moved", appointment.id): 1, ("appointment.updated", appointment.id): 1})
    outbox.changes(besides=besides)
    edited = session.scalars(select(Event).where(Event.type == "appointment.updated")).one()
    assert edited.payload == {"by": "user:1", "fields": ["reason"]}  # the field's name, never what it holds

    # Every status an appointment may take, the reminders re-planned with it.
    for status in (
        AppointmentStatus.CONFIRMED,
        AppointmentStatus.RESCHEDULE_REQUESTED,
        AppointmentStatus.CANCELLED,
        AppointmentStatus.SCHEDULED,
        AppointmentStatus.COMPLETED,
        AppointmentStatus.NO_SHOW,
    ):
        booking.set_status(session, appointment, status, "user:1")
        booking.set_status(session, appointment, status, "user:1")  # already so: no event
        session.commit()
        assert ("appointment." + status, appointment.id) in outbox.changes()
    with pytest.raises(booking.BookingError):  # a no-show is not confirmed afterwards
        booking.set_status(session, appointment, AppointmentStatus.CONFIRMED, "user:1")
    session.commit()
    assert outbox.changes() == []


def test_a_confirmation_skips_the_planned_reminders_with_one_event_each(
    session: Session, office: Office, clinic: Clinic, outbox: Outbox
) -> None:
    session.add(ReminderRule(office_id=office.id, name="Two hours", channel="sms", minutes_before=120))
    appointment = _book(session, clinic, make_patient(session, office))
    outbox.changes(besides=Counter({("appointment.created", appointment.id): 1}))
    booking.set_status(session, appointment, AppointmentStatus.CONFIRMED, "patient:link")
    session.commit()
    changes = outbox.changes()
    assert changes[0] == ("appointment.confirmed", appointment.id)  # the cause first, then what it changed
    assert sorted(kind for kind, _ in changes[1:]) == ["reminder.skipped", "reminder.skipped"]


def test_a_batch_writes_one_event_per_change(session: Session, office: Office, clinic: Clinic, outbox: Outbox) -> None:
    moved, cancelled = (_book(session, clinic, make_patient(session, office)) for _ in range(2))
    outbox.changes(besides=Counter({("appointment.created", moved.id): 1, ("appointment.created", cancelled.id): 1}))
    patient = make_patient(session, office)
    batch = booking.Batch(session, office)
    new = booking.NewAppointment(
        office_id=office.id,
        external_id="E-1",
        clinic=clinic,
        provider_id=None,
        patient=patient,
        patient_zone=ZoneInfo(clinic.timezone),
        starts_at=NOW + timedelta(days=3),
        duration_minutes=30,
        kind="in-person",
        status=AppointmentStatus.SCHEDULED,
        status_changed_by="import:csv",
    )
    batch.create(new, "import:csv")
    batch.update(moved, {"starts_at": moved.starts_at + timedelta(days=1)}, "import:csv")
    batch.set_status(cancelled, AppointmentStatus.CANCELLED, "import:csv")
    batch.finish()
    session.commit()
    assert new.id is not None
    besides = Counter({("appointment.created", new.id): 1, ("appointment.moved", moved.id): 1})
    changes = outbox.changes(besides=besides)
    assert ("appointment.cancelled", cancelled.id) in changes
    assert ("reminder.cancelled", reminder_of(session, cancelled).id) in changes
    by_import = session.scalars(select(Event).where(Event.appointment_id == new.id)).one()
    assert (by_import.patient_id, by_import.payload) == (patient.id, {"by": "import:csv"})


def _inbound(number: str, body: str, sid: str) -> dict[str, str]:
    return {"MessageSid": sid, "From": number, "To": CLINIC_NUMBER, "Body": body, "NumSegments": "1"}


def test_each_answer_and_each_opt_out_or_opt_in_writes_one_event(
    session: Session, office: Office, clinic: Clinic, outbox: Outbox
) -> None:
    patient = make_patient(session, office)
    number = patient.phones[0].number
    appointment = _book(session, clinic, patient, hours=20)
    outbox.changes(besides=Counter({("appointment.created", appointment.id): 1}))

    changes: list[Change] = []
    for sid, body in (("SM1", "1"), ("SM1", "1"), ("SM2", "maybe"), ("SM3", "STOP"), ("SM4", "STOP"), ("SM5", "START")):
        inbound_sms.handle(session, office.id, _inbound(number, body, sid), NOW)
        session.commit()
        changes += outbox.changes()  # the replay of SM1 writes nothing, the second STOP only its answer
    kinds = [kind for kind, _ in changes]
    assert kinds[:2] == ["patient.answered", "appointment.confirmed"]
    assert kinds.count("patient.answered") == 5
    assert kinds.count("patient.opted-out") == kinds.count("patient.opted-in") == 1
    answers = session.scalars(select(Event).where(Event.type == "patient.answered").order_by(Event.id)).all()
    assert [a.payload["interpretation"] for a in answers] == ["confirm", "unknown", "opt_out", "opt_out", "opt_in"]
    assert all(a.appointment_id == appointment.id and a.patient_id == patient.id for a in answers)
    for event in session.scalars(select(Event)):
        assert number not in str(event.payload) and "maybe" not in str(event.payload)

    # Staff record an opt-out from calls on the patient's page.
    patient_changes.set_opted_out(session, patient, Channel.VOICE, True, "user:1")
    session.commit()
    assert outbox.changes() == [("patient.opted-out", patient.id)]


def test_a_key_pressed_in_a_call_writes_the_answer_and_what_it_changed(
    session: Session, office: Office, clinic: Clinic, outbox: Outbox
) -> None:
    patient = make_patient(session, office)
    appointment = _book(session, clinic, patient, hours=20)
    outbox.changes(besides=Counter({("appointment.created", appointment.id): 1}))
    params = {"CallSid": "CA1", "From": CLINIC_NUMBER, "To": patient.phones[0].number, "Digits": "2"}
    query = {"appointment": str(appointment.id), "step": "answer"}
    for _ in range(2):  # Twilio retries a Gather action: the replay changes nothing
        voice_calls.handle(session, office.id, params, query, "https://clinic.example.com", NOW)
        session.commit()
    kinds = [kind for kind, _ in outbox.changes()]
    assert kinds[:2] == ["patient.answered", "appointment.cancelled"]
    assert kinds.count("patient.answered") == 1


def _sent(session: Session, clinic: Clinic, patient: Patient, sid: str) -> Message:
    """A reminder text Twilio took, as the dispatcher leaves it."""
    appointment = book(session, clinic, patient)
    reminder = reminder_of(session, appointment)
    reminder.status = ReminderStatus.SENT
    message = Message(
        office_id=clinic.office_id,
        patient_id=patient.id,
        appointment_id=appointment.id,
        reminder_id=reminder.id,
        direction=Direction.OUTBOUND,
        channel=Channel.SMS,
        to_number=patient.phones[0].number,
        from_number=CLINIC_NUMBER,
        body="Reminder",
        twilio_sid=sid,
        status=MessageStatus.QUEUED,
    )
    session.add(message)
    session.commit()
    return message


def test_each_delivery_outcome_writes_one_event(
    session: Session, office: Office, clinic: Clinic, outbox: Outbox
) -> None:
    delivered = _sent(session, clinic, make_patient(session, office), "SM-delivered")
    unreachable = _sent(session, clinic, make_patient(session, office), "SM-unreachable")
    outbox.changes(
        besides=Counter({("appointment.created", m.appointment_id or 0): 1 for m in (delivered, unreachable)})
    )
    for sid, status, code in (
        ("SM-delivered", "sent", None),
        ("SM-delivered", "delivered", None),
        ("SM-delivered", "delivered", None),  # the same callback again
        ("SM-delivered", "sent", None),  # late and out of order: the message stays delivered
        ("SM-unreachable", "undelivered", "30003"),  # the handset is off: one more try later
    ):
        params = {"MessageSid": sid, "MessageStatus": status, **({"ErrorCode": code} if code else {})}
        delivery.handle(session, office.id, params, NOW)
        session.commit()
    changes = outbox.changes()
    assert changes[:2] == [("message.delivered", delivered.id), ("message.undelivered", unreachable.id)]
    assert changes[2] == ("reminder.planned", unreachable.reminder_id)
    outcome = session.scalars(select(Event).where(Event.message_id == unreachable.id)).first()
    assert outcome is not None and outcome.payload == {"previous": "queued", "channel": "sms", "error_code": 30003}


def test_the_dispatcher_writes_one_event_per_reminder_outcome(
    session: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    simulator: SimulatorClient,
    office: Office,
    clinic: Clinic,
) -> None:
    sent = book(session, clinic, make_patient(session, office))
    cancelled = book(session, clinic, make_patient(session, office))
    refused = book(session, clinic, make_patient(session, office, phone="+15005550001"))  # 21211: not a number
    night = datetime(2030, 6, 12, 3, 30, tzinfo=NOW.tzinfo)  # 23:30 in New York: it waits for the morning
    waiting = book(session, clinic, make_patient(session, office), NOW + timedelta(days=1), due=night)
    cancelled.status = AppointmentStatus.CANCELLED  # behind the planner's back, as a race with a worker would
    session.commit()
    outbox = Outbox(session)
    settings = worker_settings(database_url, simulator)
    run_worker(settings, session_factory, clock=lambda: night)
    assert outbox.changes() == []  # planned for 8:00, and still planned: nothing to tell
    assert reminder_of(session, waiting).due_at == datetime(2030, 6, 12, 12, 0, tzinfo=NOW.tzinfo)
    run_worker(settings, session_factory)
    changes = outbox.changes()
    run_worker(settings, session_factory)
    assert outbox.changes() == []  # nothing left to do: nothing written
    assert sorted(changes) == sorted(
        [
            ("reminder.sent", reminder_of(session, waiting).id),
            ("reminder.cancelled", reminder_of(session, cancelled).id),
            ("reminder.sent", reminder_of(session, sent).id),
            ("reminder.failed", reminder_of(session, refused).id),
        ]
    )
    for event in session.scalars(select(Event).where(Event.type.in_(("reminder.sent", "reminder.failed")))):
        message = session.get(Message, event.message_id)
        assert message is not None and message.reminder_id == event.reminder_id
        assert event.payload["previous"] == "planned"
