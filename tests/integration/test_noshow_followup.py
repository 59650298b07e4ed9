"""No-show follow-ups with the dispatcher and the simulator: one text a set time after the visit is marked no-show
(read from the outbox), never before, never twice (a worker dying between writing and recording included), never
after the patient booked again or opted out; the patient's "1" reaches the inbox, a "3" joins the waitlist.
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders.conversations import consent
from clinic_reminders.db import transaction
from clinic_reminders.dispatcher import followup_sends, outreach
from clinic_reminders.dispatcher.followup_round import FollowupRound
from clinic_reminders.dispatcher.pacing import Pacer
from clinic_reminders.effective import twilio_config
from clinic_reminders.followup import config, noshows, recall
from clinic_reminders.models import (
    Appointment,
    AppointmentStatus,
    Channel,
    EntryStatus,
    FollowupStatus,
    Message,
    MessageStatus,
    NoshowFollowup,
    Office,
    RecallSeries,
    WaitlistEntry,
)
from clinic_reminders.waitlist import config as waitlist_config
from tests.factories import make_appointment, make_patient
from tests.fixtures.simulator import SimulatorClient
from tests.integration.dispatch_support import NOW, worker_settings
from tests.integration.followup_support import (
    answer,
    dispatch,
    last_inbound,
    make_place,
    no_show,
    past_visit,
    texts_to,
)

WE_MISSED_YOU = (
    "Riverside: we missed you today. Reply 1 to have us call you to rebook, or 3 to get the next opening. STOP=opt out"
)


def followups(db: Session) -> list[NoshowFollowup]:
    db.expire_all()
    return list(db.scalars(select(NoshowFollowup).order_by(NoshowFollowup.id)))


def test_a_no_show_gets_one_follow_up_after_the_delay_not_before_and_not_twice(
    session: Session, session_factory: sessionmaker[Session], database_url: str, simulator: SimulatorClient
) -> None:
    place = make_place(session, noshow_delay_minutes=120)
    patient = make_patient(session, place.office, "Missed")
    spanish = make_patient(session, place.office, "Falta", language="es")
    no_show(session, place, patient)
    no_show(session, place, spanish)

    dispatch(database_url, simulator, session_factory, NOW + timedelta(minutes=119))
    assert simulator.messages() == []
    assert [f.status for f in followups(session)] == [FollowupStatus.WAITING] * 2
    dispatch(database_url, simulator, session_factory, NOW + timedelta(minutes=120))
    assert texts_to(simulator, patient) == [WE_MISSED_YOU]
    assert texts_to(simulator, spanish) == [
        "Riverside: hoy le echamos de menos. Responda 1 y le llamamos para otra cita, o 3 para la proxima hora "
        "libre. STOP=baja"
    ]
    dispatch(database_url, simulator, session_factory, NOW + timedelta(hours=3))
    dispatch(database_url, simulator, session_factory, NOW + timedelta(days=1))
    assert len(simulator.messages()) == 2  # the outbox read again makes no second follow-up, nor a second text
    assert [f.status for f in followups(session)] == [FollowupStatus.SENT] * 2


def test_an_office_text_replaces_the_default_in_its_language(
    session: Session, session_factory: sessionmaker[Session], database_url: str, simulator: SimulatorClient
) -> None:
    place = make_place(
        session,
        noshow_delay_minutes=0,
        noshow_templates={"en": "{clinic}: sorry we missed you! Call {phone}. STOP=opt out"},
    )
    patient = make_patient(session, place.office, "Missed")
    no_show(session, place, patient)
    dispatch(database_url, simulator, session_factory, NOW)
    assert texts_to(simulator, patient) == ["Riverside: sorry we missed you! Call (212) 555-0100. STOP=opt out"]


def test_no_follow_up_after_the_patient_booked_again_opted_out_or_in_quiet_hours(
    session: Session, session_factory: sessionmaker[Session], database_url: str, simulator: SimulatorClient
) -> None:
    place = make_place(session, noshow_delay_minutes=60)
    rebooked = make_patient(session, place.office, "Rebooked")
    stopped = make_patient(session, place.office, "Stopped")
    night_owl = make_patient(session, place.office, "Owl")
    for patient in (rebooked, stopped, night_owl):
        no_show(session, place, patient)
    make_appointment(session, place.clinic, rebooked, place.chen, starts_at=NOW + timedelta(days=5))
    consent.opt_out(session, stopped, Channel.SMS, "sms:patient", NOW)
    session.commit()

    dispatch(database_url, simulator, session_factory, NOW)  # read: the follow-ups are made, due in an hour
    night = NOW + timedelta(hours=11)  # 23:00 in New York
    dispatch(database_url, simulator, session_factory, night)
    assert simulator.messages() == []
    by_patient = {f.patient_id: f for f in followups(session)}
    assert (by_patient[rebooked.id].status, by_patient[rebooked.id].reason) == (
        FollowupStatus.SKIPPED,
        "the patient has booked again",
    )
    assert (by_patient[stopped.id].status, by_patient[stopped.id].reason) == (
        FollowupStatus.SKIPPED,
        "no consent to texts, or opted out",
    )
    morning = NOW + timedelta(hours=20)  # 08:00 in New York, when texts may go again
    assert (by_patient[night_owl.id].status, by_patient[night_owl.id].due_at) == (FollowupStatus.WAITING, morning)
    dispatch(database_url, simulator, session_factory, morning)
    assert [m["to"] for m in simulator.messages()] == [night_owl.phones[0].number]


def test_a_visit_marked_a_no_show_days_later_gets_no_follow_up(
    session: Session, session_factory: sessionmaker[Session], database_url: str, simulator: SimulatorClient
) -> None:
    place = make_place(session, noshow_delay_minutes=0)
    patient = make_patient(session, place.office, "Long", "Ago")
    past_visit(session, place, patient, NOW - timedelta(days=4), AppointmentStatus.NO_SHOW)  # marked only now
    dispatch(database_url, simulator, session_factory, NOW)
    assert simulator.messages() == []
    assert [(f.status, f.reason) for f in followups(session)] == [(FollowupStatus.SKIPPED, "too long after the visit")]


def test_follow_ups_are_off_until_the_office_turns_them_on(
    session: Session, session_factory: sessionmaker[Session], database_url: str, simulator: SimulatorClient
) -> None:
    place = make_place(session, noshow_enabled=False, noshow_delay_minutes=0)
    no_show(session, place, make_patient(session, place.office, "Missed"))
    dispatch(database_url, simulator, session_factory, NOW)
    assert simulator.messages() == [] and followups(session) == []


def test_a_1_reaches_the_inbox_for_a_call_and_a_3_joins_the_waitlist(
    session: Session, session_factory: sessionmaker[Session], database_url: str, simulator: SimulatorClient
) -> None:
    place = make_place(session, noshow_delay_minutes=0)
    waitlist_config.settings_of(session, place.office)  # the office keeps a waitlist
    caller, waiter = make_patient(session, place.office, "Caller"), make_patient(session, place.office, "Waiter")
    missed = no_show(session, place, waiter)
    no_show(session, place, caller)
    dispatch(database_url, simulator, session_factory, NOW)
    assert len(simulator.messages()) == 2

    later = NOW + timedelta(minutes=10)
    assert answer(session_factory, caller, "1", later) == (
        "Thank you, Riverside will call you to find a new time. (212) 555-0100"
    )
    inbound = last_inbound(session, caller)
    assert (inbound.body, inbound.unread, inbound.needs_person) == ("1", True, True)
    assert answer(session_factory, waiter, "3", later) == (
        "Thank you, you are on our waiting list: we will text you when a time opens. Riverside"
    )
    entry = session.scalars(select(WaitlistEntry).where(WaitlistEntry.patient_id == waiter.id)).one()
    assert (entry.status, entry.clinic_id, entry.provider_id) == (EntryStatus.WAITING, missed.clinic_id, place.chen.id)
    assert not last_inbound(session, waiter).needs_person
    assert {f.patient_id: f.answer for f in followups(session)} == {caller.id: "call", waiter.id: "waitlist"}
    assert session.get(Appointment, missed.id).status == "no-show"  # a "1" confirms nothing


def _crashed_followup(session_factory: sessionmaker[Session], database_url: str, simulator: SimulatorClient) -> int:
    """A follow-up whose text was written, as a worker does, and whose worker died before recording Twilio's
    answer; returns its message id."""
    settings = worker_settings(database_url, simulator)
    with transaction(session_factory) as db:
        office = db.scalars(select(Office)).one()
        pacer = Pacer(settings.sender_rate, settings.sender_rates)
        config = twilio_config(settings, office)
        drafts = FollowupRound(settings, lambda: NOW, pacer).prepare(db, lambda _: config, NOW)
        assert len(drafts) == 1
        return drafts[0][1].message_id


async def _send(simulator: SimulatorClient, message: Message) -> None:
    gateway = simulator.gateway()
    await gateway.send_sms(message.to_number, message.from_number, message.body)
    await gateway.aclose()


@pytest.mark.parametrize("reached_twilio", [True, False])
def test_a_follow_up_left_pending_by_a_dead_worker_is_settled_and_never_sent_twice(
    session: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    simulator: SimulatorClient,
    reached_twilio: bool,
) -> None:
    place = make_place(session, noshow_delay_minutes=0)
    no_show(session, place, make_patient(session, place.office, "Pending"))
    message_id = _crashed_followup(session_factory, database_url, simulator)
    message = session.get(Message, message_id)
    assert message is not None and message.status == MessageStatus.PENDING
    assert followups(session)[0].status == FollowupStatus.SENT  # claimed with its message row, in one commit
    if reached_twilio:  # the request got there, the answer was lost with the worker
        asyncio.run(_send(simulator, message))
    later = NOW + timedelta(minutes=5)  # past the lease and Twilio's timeout
    dispatch(database_url, simulator, session_factory, later)
    dispatch(database_url, simulator, session_factory, later + timedelta(hours=1))
    assert len(simulator.messages()) == (1 if reached_twilio else 0)
    session.expire_all()
    message = session.get(Message, message_id)
    followup = followups(session)[0]
    assert message is not None
    if reached_twilio:
        assert (message.twilio_sid, followup.status) == (simulator.messages()[0]["sid"], FollowupStatus.SENT)
    else:
        assert (message.status, message.error_message, followup.status) == (
            MessageStatus.CANCELED,
            outreach.NEVER_SENT,
            FollowupStatus.FAILED,
        )


def test_two_dispatchers_never_both_claim_a_follow_up_or_a_recall_text(
    session: Session, session_factory: sessionmaker[Session], database_url: str, simulator: SimulatorClient
) -> None:
    """Each claim is a conditional UPDATE: one that read the row before another dispatcher committed its claim
    finds the row taken and writes nothing."""
    place = make_place(session, noshow_delay_minutes=0)
    config.add_interval(session, place.office, "Any visit", 12, "", None, "test")
    no_show(session, place, make_patient(session, place.office, "Missed"))
    past_visit(
        session,
        place,
        make_patient(session, place.office, "Due"),
        NOW - timedelta(days=366),
        AppointmentStatus.COMPLETED,
    )
    settings = worker_settings(database_url, simulator)
    pacer = Pacer(settings.sender_rate, settings.sender_rates)
    with session_factory() as late:  # the slow dispatcher: it has read the rows as they were
        noshows.read(late, place.office)
        recall.start(late, place.office, NOW)
        late.commit()
        followup = late.scalars(select(NoshowFollowup)).one()
        series = late.scalars(select(RecallSeries)).one()
        with transaction(session_factory) as db:  # the quick one claims both and commits
            office = db.get(Office, place.office.id)
            assert office is not None
            drafts = FollowupRound(settings, lambda: NOW, pacer).prepare(
                db, lambda _: twilio_config(settings, office), NOW
            )
            assert len(drafts) == 2
        assert not followup_sends._claim_followup(late, followup.id, NOW)
        assert not followup_sends._claim_recall(late, series, NOW + timedelta(days=14), NOW)
        late.rollback()
    session.expire_all()
    assert len(session.scalars(select(Message)).all()) == 2
