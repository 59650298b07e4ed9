"""Texts from a sender carriers would block wait, with a reason staff can read; calls go out instead where the
office's rules allow; once registration is approved the waiting texts go out, once."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders.conversations import delivery
from clinic_reminders.doctor.alerts import Watch
from clinic_reminders.models import (
    Channel,
    Clinic,
    Message,
    Office,
    Registration,
    RegistrationKind,
    RegistrationState,
    ReminderStatus,
    RuleCondition,
)
from clinic_reminders.registration import holds
from clinic_reminders.registration.senders import WAITING_FOR_REGISTRATION
from tests.factories import make_clinic, make_office, make_patient, make_registration, make_rule, register_office
from tests.fixtures.simulator import SECOND_NUMBER, SimulatorClient
from tests.integration.dispatch_support import NOW, book, reminder_of, run_worker, worker_settings

LOCAL_SENDER = SECOND_NUMBER  # a US local (10DLC) number of the simulated account


@pytest.fixture
def office(session: Session) -> Office:
    office = make_office(session)
    make_rule(session, office)
    return office


@pytest.fixture
def clinic(session: Session, office: Office) -> Clinic:
    # The clinic's own number shows on calls: one the account owns needs no caller-ID verification.
    return make_clinic(session, office, name="Riverside Family Medicine", phone=LOCAL_SENDER)


def test_it_holds_texts_until_the_campaign_is_approved_and_then_sends_them_once(
    session: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    simulator: SimulatorClient,
    office: Office,
    clinic: Clinic,
) -> None:
    patient = make_patient(session, office)
    appointment = book(session, clinic, patient)
    make_registration(session, office, RegistrationKind.BRAND, RegistrationState.APPROVED)
    campaign = make_registration(
        session, office, RegistrationKind.CAMPAIGN, RegistrationState.PENDING, submitted_at=NOW - timedelta(days=2)
    )
    session.commit()
    settings = worker_settings(database_url, simulator, twilio_phone_number=LOCAL_SENDER)

    run_worker(settings, session_factory)
    assert simulator.messages(to=patient.phones[0].number) == []
    waiting = reminder_of(session, appointment)
    assert waiting.status == ReminderStatus.PLANNED and waiting.due_at > NOW
    assert waiting.reason == f"{WAITING_FOR_REGISTRATION}: campaign in review since Jun 10"
    assert session.query(Message).filter_by(appointment_id=appointment.id).count() == 0  # nothing half-sent

    campaign.state = RegistrationState.APPROVED
    session.commit()
    later = waiting.due_at
    run_worker(settings, session_factory, clock=lambda: later)
    run_worker(settings, session_factory, clock=lambda: later)
    sent = simulator.messages(to=patient.phones[0].number)
    assert len(sent) == 1 and sent[0]["from"] == LOCAL_SENDER
    assert reminder_of(session, appointment).status == ReminderStatus.SENT


def test_a_held_text_whose_appointment_passes_is_marked_missed(
    session: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    simulator: SimulatorClient,
    office: Office,
    clinic: Clinic,
) -> None:
    patient = make_patient(session, office)
    appointment = book(session, clinic, patient, starts_at=NOW + timedelta(minutes=20))
    settings = worker_settings(database_url, simulator, twilio_phone_number=LOCAL_SENDER)
    run_worker(settings, session_factory)
    assert reminder_of(session, appointment).reason == f"{WAITING_FOR_REGISTRATION}: brand not submitted yet"
    run_worker(settings, session_factory, clock=lambda: NOW + timedelta(hours=1))
    assert reminder_of(session, appointment).status == ReminderStatus.MISSED
    assert simulator.messages(to=patient.phones[0].number) == []


@pytest.mark.parametrize("registered", [False, True])
def test_the_call_for_patients_who_cannot_get_texts_goes_out_while_texts_wait(
    registered: bool,
    session: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    simulator: SimulatorClient,
    office: Office,
    clinic: Clinic,
) -> None:
    make_rule(
        session, office, "Call", Channel.VOICE, at_local_time=time(11), condition=RuleCondition.UNANSWERED_AND_NO_SMS
    )
    if registered:
        register_office(session, office)
    patient = make_patient(session, office)
    session.flush()
    book(session, clinic, patient)
    settings = worker_settings(
        database_url, simulator, twilio_phone_number=LOCAL_SENDER, public_url="https://clinic.example.com"
    )
    run_worker(settings, session_factory)
    calls = [c for c in simulator.calls() if c["to"] == patient.phones[0].number]
    texts = simulator.messages(to=patient.phones[0].number)
    if registered:  # the text went out: the call waits for an answer, as the rule says
        assert (len(texts), calls) == (1, [])
    else:
        assert (texts, len(calls)) == ([], 1)
        assert calls[0]["from"] == clinic.phone


def test_test_numbers_and_voice_never_wait(
    session: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    simulator: SimulatorClient,
    office: Office,
    clinic: Clinic,
) -> None:
    patient = make_patient(session, office)
    book(session, clinic, patient)
    run_worker(worker_settings(database_url, simulator), session_factory)  # from Twilio's test number
    assert len(simulator.messages(to=patient.phones[0].number)) == 1


def test_a_sender_carriers_refuse_is_marked_and_its_texts_wait_not_lost(
    session: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    simulator: SimulatorClient,
    office: Office,
    clinic: Clinic,
) -> None:
    register_office(session, office)  # we think the number may text; carriers disagree
    first = make_patient(session, office)
    refused = book(session, clinic, first)
    settings = worker_settings(database_url, simulator, twilio_phone_number=LOCAL_SENDER)
    run_worker(settings, session_factory)
    [sent] = simulator.messages(to=first.phones[0].number)

    with session_factory.begin() as db:  # the status callback Twilio sends, as /twilio/status hands it over
        params = {"MessageSid": sent["sid"], "MessageStatus": "undelivered", "ErrorCode": "30034"}
        delivery.handle(db, office.id, params, NOW + timedelta(minutes=1))
    mark = session.scalars(select(Registration).where(Registration.kind == RegistrationKind.CARRIER_BLOCK)).one()
    assert (mark.subject, mark.state, mark.problems[0]["code"]) == (LOCAL_SENDER, RegistrationState.FAILED, 30034)
    again = reminder_of(session, refused)
    assert again.status == ReminderStatus.PLANNED and again.reason is not None
    assert again.reason.startswith(WAITING_FOR_REGISTRATION)

    second = make_patient(session, office)
    other = book(session, clinic, second, due=NOW + timedelta(minutes=1))
    run_worker(settings, session_factory, clock=lambda: NOW + timedelta(minutes=2))
    assert len(simulator.messages(to=first.phones[0].number)) == 1  # not sent into the block again
    assert simulator.messages(to=second.phones[0].number) == []
    held = reminder_of(session, other).reason
    assert (
        held == f"{WAITING_FOR_REGISTRATION}: carriers refused texts from (415) 555-0100 on Jun 12 (Twilio error 30034)"
    )

    mark.state = RegistrationState.APPROVED  # lifted, e.g. by `reminders setup twilio`
    session.commit()
    run_worker(settings, session_factory, clock=lambda: NOW + timedelta(hours=1))
    assert len(simulator.messages(to=first.phones[0].number)) == 2  # the refused reminder, once more
    assert len(simulator.messages(to=second.phones[0].number)) == 1


def test_staff_pages_and_admins_hear_how_many_texts_wait_and_why(
    session: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    simulator: SimulatorClient,
    office: Office,
    clinic: Clinic,
) -> None:
    make_registration(session, office, RegistrationKind.BRAND, RegistrationState.PENDING, submitted_at=NOW)
    for _ in range(3):
        book(session, clinic, make_patient(session, office))
    settings = worker_settings(database_url, simulator, twilio_phone_number=LOCAL_SENDER)
    run_worker(settings, session_factory)
    banners = {b.id: b for b in Watch(settings, session_factory).look()}
    assert banners["registration.waiting"].text.startswith(
        "3 reminder text(s) wait for carrier registration (brand in review since Jun 12); calls still go out."
    )
    with session_factory.begin() as db:
        assert holds.release_waiting(db, office.id, NOW + timedelta(minutes=1)) == 3
    run_worker(settings, session_factory, clock=lambda: NOW + timedelta(minutes=1))
    assert simulator.messages() == []  # released, re-checked, still held: the brand is still in review
