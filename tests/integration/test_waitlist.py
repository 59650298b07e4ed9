"""The waitlist with the dispatcher and the simulator: a cancellation read from the outbox is offered in waves to
the patients it suits (consent, quiet hours, cut-off), a YES books it through `booking`, a later YES is told it
was just taken, offers expire, and a text left pending by a dead worker is never sent twice. SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, time, timedelta
from html import unescape
from itertools import count

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders import booking
from clinic_reminders.accounts import the_office
from clinic_reminders.conversations import inbound_sms
from clinic_reminders.db import transaction
from clinic_reminders.dispatcher import outreach
from clinic_reminders.dispatcher.pacing import Pacer
from clinic_reminders.dispatcher.waitlist_round import OfferRound
from clinic_reminders.effective import twilio_config
from clinic_reminders.models import (
    Appointment,
    AppointmentStatus,
    EntryStatus,
    Message,
    MessageStatus,
    OfferStatus,
    Office,
    Patient,
    SlotStatus,
    WaitlistOffer,
)
from tests.factories import make_appointment
from tests.fixtures.simulator import CLINIC_NUMBER, SimulatorClient
from tests.integration.dispatch_support import NOW, run_worker, worker_settings
from tests.integration.waitlist_support import (
    cancel,
    entry_of,
    make_waitlist_office,
    number_of,
    offers,
    slots,
    texts_to,
    waiting,
)

_sids = count(1)
HOUR = timedelta(hours=1)


def answer(sessions: sessionmaker[Session], number: str, body: str, now: datetime = NOW) -> str:
    """The patient texts `body`; returns what we answer (the TwiML's message)."""
    params = {"MessageSid": f"SM{next(_sids):032d}", "From": number, "To": CLINIC_NUMBER, "Body": body}
    with transaction(sessions) as db:
        twiml = inbound_sms.handle(db, the_office(db).id, params, now)
    found = re.search(r"<Message>(.*)</Message>", twiml, re.DOTALL)
    return unescape(found.group(1)) if found else ""


def dispatch(database_url: str, simulator: SimulatorClient, sessions: sessionmaker[Session], at: datetime) -> None:
    run_worker(worker_settings(database_url, simulator), sessions, clock=lambda: at)


def test_a_cancellation_is_offered_in_waves_to_the_patients_it_suits(
    session: Session, session_factory: sessionmaker[Session], database_url: str, simulator: SimulatorClient
) -> None:
    place = make_waitlist_office(session, wave_size=2, wave_minutes=10)
    first = waiting(session, place, "First")
    other_provider = waiting(session, place, "Elsewhere", provider_id=None, clinic_id=None, weekdays=(5, 6))
    no_consent = waiting(session, place, "Silent", sms_consent=False)
    second = waiting(session, place, "Second")
    third = waiting(session, place, "Third", language="es")
    fourth = waiting(session, place, "Fourth", day_starts=time(8), day_ends=time(17))
    session.commit()
    cancel(session, place.freed)

    dispatch(database_url, simulator, session_factory, NOW)
    texted = {m["to"]: m["body"] for m in simulator.messages()}
    assert set(texted) == {number_of(first), number_of(second)}
    when = "Fri Jun 14, 12:00 PM"  # NOW + 2 days, on the clinic's clock
    offer = f"Riverside: a time opened up. Reply YES to take {when} with Dr. Chen. STOP=opt out"
    assert texted[number_of(first)] == offer

    dispatch(database_url, simulator, session_factory, NOW + timedelta(minutes=5))
    assert len(simulator.messages()) == 2  # the next wave is not due yet
    dispatch(database_url, simulator, session_factory, NOW + timedelta(minutes=10))
    texted = {m["to"]: m["body"] for m in simulator.messages()}
    assert set(texted) == {number_of(p) for p in (first, second, third, fourth)}
    spanish = "Riverside: se libero una hora. Responda SI para tomar vie 14 jun, 12:00 con Dr. Chen. STOP=baja"
    assert texted[number_of(third)] == spanish
    dispatch(database_url, simulator, session_factory, NOW + timedelta(minutes=20))
    assert len(simulator.messages()) == 4  # nobody else it suits: a Saturday wish, no consent
    assert not texts_to(session, other_provider) and not texts_to(session, no_consent)
    assert [(o.wave, o.status) for o in offers(session)] == [(1, "open"), (1, "open"), (2, "open"), (2, "open")]
    statuses = {m.status for p in (first, second, third, fourth) for m in texts_to(session, p)}
    assert statuses <= {MessageStatus.QUEUED, MessageStatus.SENT, MessageStatus.DELIVERED}


def test_no_offer_goes_out_in_quiet_hours_and_the_wave_waits_for_the_morning(
    session: Session, session_factory: sessionmaker[Session], database_url: str, simulator: SimulatorClient
) -> None:
    night = datetime(2030, 6, 12, 3, 0, tzinfo=UTC)  # 23:00 in New York
    place = make_waitlist_office(session, starts_in=timedelta(days=2))
    patient = waiting(session, place, "Sleepy")
    session.commit()
    cancel(session, place.freed)
    dispatch(database_url, simulator, session_factory, night)
    assert simulator.messages() == []
    morning = datetime(2030, 6, 12, 12, 0, tzinfo=UTC)  # 8:00 in New York, when texts may go
    assert slots(session)[0].next_wave_at == morning
    dispatch(database_url, simulator, session_factory, morning)
    assert [m["to"] for m in simulator.messages()] == [number_of(patient)]


def test_a_slot_inside_the_cut_off_is_never_offered(
    session: Session, session_factory: sessionmaker[Session], database_url: str, simulator: SimulatorClient
) -> None:
    place = make_waitlist_office(session, starts_in=timedelta(minutes=90), cutoff_hours=2)
    waiting(session, place, "Late")
    session.commit()
    cancel(session, place.freed)
    dispatch(database_url, simulator, session_factory, NOW)
    assert simulator.messages() == [] and slots(session) == []


def test_the_first_yes_books_the_slot_moving_the_old_appointment_and_a_later_yes_is_told_it_was_taken(
    session: Session, session_factory: sessionmaker[Session], database_url: str, simulator: SimulatorClient
) -> None:
    place = make_waitlist_office(session, wave_size=3)
    winner = waiting(session, place, "Quick")
    later = booking.create(
        session,
        Appointment(office_id=place.office.id, clinic=place.clinic, patient=winner, starts_at=NOW + timedelta(days=20)),
        "test",
    )
    entry_of(session, winner).appointment_id = later.id
    loser = waiting(session, place, "Slow", language="es")
    session.commit()
    cancel(session, place.freed)
    dispatch(database_url, simulator, session_factory, NOW)
    assert len(simulator.messages()) == 2

    booked = answer(session_factory, number_of(winner), "Yes")
    assert booked.startswith("Thank you, you are booked: Fri Jun 14, 12:00 PM with Dr. Chen, Riverside.")
    refused = answer(session_factory, number_of(loser), "si")
    assert refused == "Perdone, esa hora ya se tomo. Sigue en nuestra lista de espera. Riverside"

    session.expire_all()
    moved = session.get(Appointment, later.id)
    assert moved is not None
    assert (moved.starts_at, moved.provider_id, moved.status) == (
        place.freed.starts_at,
        place.chen.id,
        AppointmentStatus.CONFIRMED,
    )
    assert session.scalar(select(func.count()).select_from(Appointment).where(Appointment.patient_id == winner.id)) == 1
    assert [o.status for o in offers(session)] == [OfferStatus.ACCEPTED, OfferStatus.TOO_LATE]
    assert (slots(session)[0].status, slots(session)[0].filled_appointment_id) == (SlotStatus.FILLED, later.id)
    assert entry_of(session, winner).status == EntryStatus.BOOKED
    assert entry_of(session, loser).status == EntryStatus.WAITING  # they stay on the list
    # The patient's YES is about the appointment it booked, not about any other.
    yes = session.scalars(select(Message).where(Message.patient_id == winner.id, Message.direction == "inbound")).one()
    assert yes.appointment_id == later.id and not yes.needs_person
    assert answer(session_factory, number_of(winner), "YES").startswith("Thank you, you are booked")  # again: same


def test_a_yes_without_an_appointment_books_a_new_one_and_offers_expire(
    session: Session, session_factory: sessionmaker[Session], database_url: str, simulator: SimulatorClient
) -> None:
    place = make_waitlist_office(session, wave_size=1, offer_minutes=15)
    late, taker = waiting(session, place, "Late"), waiting(session, place, "Taker")
    session.commit()
    cancel(session, place.freed)
    dispatch(database_url, simulator, session_factory, NOW)
    dispatch(database_url, simulator, session_factory, NOW + timedelta(minutes=16))  # expired; the next wave
    assert [o.status for o in offers(session)] == [OfferStatus.EXPIRED, OfferStatus.OPEN]
    assert answer(session_factory, number_of(late), "yes").startswith("Sorry, that time was just taken")
    assert answer(session_factory, number_of(taker), "👍").startswith("Thank you, you are booked")
    new = session.scalars(select(Appointment).where(Appointment.patient_id == taker.id)).one()
    assert (new.starts_at, new.status, new.clinic_id) == (place.freed.starts_at, "confirmed", place.clinic.id)
    held = booking.HOLDS_ITS_TIME
    at_that_time = select(func.count()).where(Appointment.starts_at == new.starts_at, Appointment.status.in_(held))
    assert session.scalar(at_that_time.select_from(Appointment)) == 1


def test_a_reinstated_appointment_takes_its_slot_back(
    session: Session, session_factory: sessionmaker[Session], database_url: str, simulator: SimulatorClient
) -> None:
    place = make_waitlist_office(session)
    patient = waiting(session, place, "Hopeful")
    session.commit()
    cancel(session, place.freed)
    dispatch(database_url, simulator, session_factory, NOW)
    booking.set_status(session, place.freed, AppointmentStatus.SCHEDULED, "test")
    session.commit()
    dispatch(database_url, simulator, session_factory, NOW + timedelta(minutes=1))
    assert slots(session)[0].status == SlotStatus.TAKEN
    assert offers(session)[0].status == OfferStatus.CLOSED
    assert answer(session_factory, number_of(patient), "YES").startswith("Sorry, that time was just taken")


def test_a_patients_3_joins_the_waitlist_when_the_office_wants_it(
    session: Session, session_factory: sessionmaker[Session], database_url: str, simulator: SimulatorClient
) -> None:
    place = make_waitlist_office(session, join_on_reschedule=True)
    session.commit()
    place.freed.status = AppointmentStatus.SCHEDULED
    mover = place.freed.patient
    assert answer(session_factory, number_of(mover), "3").startswith("Thank you.")
    dispatch(database_url, simulator, session_factory, NOW)
    dispatch(database_url, simulator, session_factory, NOW)  # the outbox read again: still one entry
    entry = entry_of(session, mover)
    assert (entry.source, entry.appointment_id, entry.provider_id) == ("reschedule", place.freed.id, place.chen.id)


def _crashed_offer(session_factory: sessionmaker[Session], database_url: str, simulator: SimulatorClient) -> int:
    """An offer whose text was written, as a worker does, and whose worker died before recording Twilio's
    answer; returns its message id."""
    settings = worker_settings(database_url, simulator)
    with transaction(session_factory) as db:
        office = db.scalars(select(Office)).one()
        pacer = Pacer(settings.sender_rate, settings.sender_rates)
        config = twilio_config(settings, office)
        drafts = OfferRound(settings, lambda: NOW, pacer).prepare(db, lambda _: config, NOW)
        assert len(drafts) == 1
        return drafts[0][1].message_id


async def _send(simulator: SimulatorClient, message: Message) -> None:
    gateway = simulator.gateway()
    await gateway.send_sms(message.to_number, message.from_number, message.body)
    await gateway.aclose()


@pytest.mark.parametrize("reached_twilio", [True, False])
def test_an_offer_left_pending_by_a_dead_worker_is_settled_and_never_sent_twice(
    session: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    simulator: SimulatorClient,
    reached_twilio: bool,
) -> None:
    place = make_waitlist_office(session)
    patient = waiting(session, place, "Pending")
    session.commit()
    cancel(session, place.freed)
    message_id = _crashed_offer(session_factory, database_url, simulator)
    message = session.get(Message, message_id)
    assert message is not None and message.status == MessageStatus.PENDING
    if reached_twilio:  # the request got there, the answer was lost with the worker
        asyncio.run(_send(simulator, message))
    later = NOW + timedelta(minutes=5)  # past the lease and Twilio's timeout
    dispatch(database_url, simulator, session_factory, later)
    assert len(simulator.messages()) == (1 if reached_twilio else 0)
    session.expire_all()
    message = session.get(Message, message_id)
    offer = session.scalars(select(WaitlistOffer)).one()
    assert message is not None
    if reached_twilio:
        assert (message.twilio_sid, offer.status) == (simulator.messages()[0]["sid"], OfferStatus.OPEN)
    else:
        assert (message.status, message.error_message, offer.status) == (
            MessageStatus.CANCELED,
            outreach.NEVER_SENT,
            OfferStatus.FAILED,
        )
    dispatch(database_url, simulator, session_factory, later + timedelta(minutes=30))
    assert len(simulator.messages()) == (1 if reached_twilio else 0)  # the patient is not offered it again
    assert len(texts_to(session, patient)) == 1


def test_a_slot_whose_patient_holds_another_offer_waits_for_it_and_wakes_when_that_offer_closes(
    session: Session, session_factory: sessionmaker[Session], database_url: str, simulator: SimulatorClient
) -> None:
    place = make_waitlist_office(session, wave_size=1, wave_minutes=10, offer_minutes=24 * 60)
    holder = session.get(Patient, place.freed.patient_id)
    assert holder is not None
    later = make_appointment(session, place.clinic, holder, place.chen, starts_at=place.freed.starts_at + HOUR)
    patient = waiting(session, place, "Busy")
    session.commit()
    cancel(session, place.freed)
    dispatch(database_url, simulator, session_factory, NOW)  # the first slot is offered
    cancel(session, later)
    dispatch(database_url, simulator, session_factory, NOW + timedelta(minutes=1))
    session.expire_all()
    first, second = slots(session)
    assert [o.slot_id for o in offers(session)] == [first.id]
    # The second slot's patient holds the first one's offer: it waits for that offer to expire (a day) instead of
    # looking again every ten minutes.
    assert second.next_wave_at == NOW + timedelta(days=1)
    booking.set_status(session, place.freed, AppointmentStatus.SCHEDULED, "test")  # the first slot goes
    session.commit()
    dispatch(database_url, simulator, session_factory, NOW + timedelta(minutes=20))
    session.expire_all()
    assert [(o.slot_id, o.status) for o in offers(session)] == [(first.id, "closed"), (second.id, "open")]
    assert [m["to"] for m in simulator.messages()] == [number_of(patient)] * 2
