"""Twilio error codes that mean a set-up problem or need staff, end to end against the simulator: what the
dispatcher and the status callbacks do with each, what `reminders doctor` (twilio.delivery_errors) then says,
and the admins' alert. Status callbacks are handed to `delivery.handle` as Twilio would post them."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders.conversations import delivery
from clinic_reminders.db import transaction
from clinic_reminders.doctor import Report, Status
from clinic_reminders.doctor.alerts import Watch
from clinic_reminders.doctor.deliveries import CHECK_ID, find, senders_in_use
from clinic_reminders.models import (
    Clinic,
    Direction,
    Message,
    MessageStatus,
    Office,
    Patient,
    PhoneKind,
    ReminderRule,
    ReminderStatus,
)
from clinic_reminders.registration.senders import WAITING_FOR_REGISTRATION
from tests.factories import make_clinic, make_office, make_patient, make_rule, register_office
from tests.fixtures.simulator import CLINIC_NUMBER, SimulatorClient
from tests.integration.dispatch_support import NOW, book, messages_of, reminder_of, run_worker, worker_settings
from tests.integration.doctor_support import doctor

NOT_OURS = "+12125550199"  # a number the simulated account does not own: 21606
ADMIN_PHONE = "+13035550199"


@pytest.fixture
def office(session: Session) -> Office:
    office = make_office(session)
    register_office(session, office)  # the senders here are US local numbers: registered, or their texts wait
    make_rule(session, office)
    return office


@pytest.fixture
def clinic(session: Session, office: Office) -> Clinic:
    return make_clinic(session, office, name="Riverside Family Medicine", timezone="America/New_York")


def check(report: Report, status: Status, *phrases: str, fix: str = "") -> str:
    result = report.result(CHECK_ID)
    assert result.status is status, result
    for phrase in phrases:
        assert phrase in result.explanation, result
    assert fix in result.fix, result
    return f"{result.explanation} {result.fix}"


def assert_no_patient_data(text: str, patient: Patient) -> None:
    number = patient.phones[0].number
    for secret in (number, number[2:], patient.first_name, patient.last_name):
        assert secret not in text


def callback(sessions: sessionmaker[Session], message: Message, status: str, code: int, at: datetime) -> None:
    """A status callback as Twilio posts it to /twilio/status (the signature is the web layer's business)."""
    assert message.twilio_sid
    params = {"MessageSid": message.twilio_sid, "MessageStatus": status, "ErrorCode": str(code), "AccountSid": "AC1"}
    with transaction(sessions) as db:
        delivery.handle(db, message.office_id, params, at)


def test_a_configuration_error_waits_longer_each_time_and_the_doctor_says_why(
    session: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    simulator: SimulatorClient,
    office: Office,
    clinic: Clinic,
) -> None:
    patient = make_patient(session, office, first_name="Zebulon", last_name="Quartermaine")
    appointment = book(session, clinic, patient)
    wrong = worker_settings(database_url, simulator, twilio_phone_number=NOT_OURS)
    tries = [NOW, NOW + timedelta(minutes=16), NOW + timedelta(minutes=47), NOW + timedelta(minutes=108)]
    waits = [timedelta(minutes=15), timedelta(minutes=30), timedelta(hours=1), timedelta(hours=2)]
    for at, wait in zip(tries, waits, strict=True):
        run_worker(wrong, session_factory, clock=lambda at=at: at)
        reminder = reminder_of(session, appointment)
        assert reminder.status == ReminderStatus.PLANNED and reminder.due_at == at + wait
        assert (reminder.reason or "").startswith("waiting for the Twilio set-up to be fixed")
    run_worker(wrong, session_factory, clock=lambda: NOW + timedelta(minutes=200))  # not due yet: Twilio not asked
    run_worker(wrong, session_factory, clock=lambda: NOW + timedelta(minutes=229))
    assert reminder_of(session, appointment).due_at == NOW + timedelta(minutes=229, hours=2)  # 2 h from now on
    dropped = messages_of(session, appointment)
    assert [(m.status, m.error_code) for m in dropped] == [(MessageStatus.CANCELED, 21606)] * 5
    assert reminder_of(session, appointment).attempts == 0  # refusals of the set-up do not use up the retries
    assert simulator.messages() == []

    report = doctor(wrong, session_factory, CHECK_ID)
    text = check(
        report,
        Status.FAILED,
        "5 send(s) in the last 24 h failed because of the set-up (21606 ×5)",
        "21606: the sending number is not an SMS-capable number of this Twilio account",
        "1 reminder(s) wait for the fix",
        fix="set TWILIO_PHONE_NUMBER",
    )
    assert_no_patient_data(text, patient)
    assert not report.ok

    fixed = worker_settings(database_url, simulator)
    run_worker(fixed, session_factory, clock=lambda: NOW + timedelta(minutes=350))
    assert reminder_of(session, appointment).status == ReminderStatus.SENT
    assert [m["from"] for m in simulator.messages()] == [CLINIC_NUMBER]
    check(doctor(fixed, session_factory, CHECK_ID), Status.OK, "no set-up error")  # that number is no longer used


def test_a_trial_account_holds_reminders_until_it_is_upgraded(
    session: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    simulator: SimulatorClient,
    office: Office,
    clinic: Clinic,
) -> None:
    simulator.set_account(trial=True)
    appointment = book(session, clinic, make_patient(session, office))
    settings = worker_settings(database_url, simulator)
    run_worker(settings, session_factory)
    reminder = reminder_of(session, appointment)
    assert reminder.status == ReminderStatus.PLANNED and reminder.due_at == NOW + timedelta(minutes=15)
    [dropped] = messages_of(session, appointment)
    assert (dropped.status, dropped.error_code) == (MessageStatus.CANCELED, 21608)
    check(doctor(settings, session_factory, CHECK_ID), Status.FAILED, "21608: the account is a Trial", fix="Upgrade")

    simulator.set_account(trial=False)
    run_worker(settings, session_factory, clock=lambda: NOW + timedelta(minutes=16))
    assert reminder_of(session, appointment).status == ReminderStatus.SENT
    # a later text to the same patient went through: the trial is over
    check(doctor(settings, session_factory, CHECK_ID), Status.OK, "no set-up error")


def test_an_unverified_caller_id_holds_voice_reminders(
    session: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    simulator: SimulatorClient,
    office: Office,
    clinic: Clinic,
) -> None:
    rule = session.scalars(select(ReminderRule)).one()
    rule.channel = "voice"  # the simulated account has no verified caller ID: the clinic's phone is refused
    session.commit()
    appointment = book(session, clinic, make_patient(session, office))
    settings = worker_settings(database_url, simulator, public_url="https://clinic.example.com")
    run_worker(settings, session_factory)
    reminder = reminder_of(session, appointment)
    assert reminder.status == ReminderStatus.PLANNED and "set-up" in (reminder.reason or "")
    [dropped] = messages_of(session, appointment)
    assert (dropped.channel, dropped.status, dropped.error_code) == ("voice", MessageStatus.CANCELED, 21210)
    assert simulator.calls() == []
    check(
        doctor(settings, session_factory, CHECK_ID),
        Status.FAILED,
        "(21210 ×1)",
        "caller ID of reminder calls is not verified",
        fix="6-digit code",
    )


def test_a_region_without_permission_is_permanent_for_that_number(
    session: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    simulator: SimulatorClient,
    office: Office,
    clinic: Clinic,
) -> None:
    patient = make_patient(session, office, phone="+15005550003")  # Twilio's magic "no permission" number: 21408
    first = book(session, clinic, patient)
    settings = worker_settings(database_url, simulator)
    run_worker(settings, session_factory)
    reminder = reminder_of(session, first)
    assert reminder.status == ReminderStatus.FAILED and "geo permissions" in (reminder.reason or "")
    session.refresh(patient)
    assert patient.phones[0].invalid_at is not None and "geo permissions" in (patient.phones[0].invalid_reason or "")
    # the next reminder for the same patient does not try that number again
    later = book(session, clinic, patient, starts_at=NOW + timedelta(days=3), due=NOW + timedelta(days=2))
    run_worker(settings, session_factory, clock=lambda: NOW + timedelta(days=2, minutes=1))
    assert reminder_of(session, later).status == ReminderStatus.SKIPPED
    assert len(messages_of(session, first)) == 1 and messages_of(session, later) == []
    text = check(
        doctor(settings, session_factory, CHECK_ID), Status.FAILED, "(21408 ×1)", fix="Messaging → Settings → Geo"
    )
    assert_no_patient_data(text, patient)


def test_an_unreachable_handset_is_retried_once_even_after_a_rate_limited_try(
    session: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    simulator: SimulatorClient,
    office: Office,
    clinic: Clinic,
) -> None:
    patient = make_patient(session, office)
    appointment = book(session, clinic, patient)
    settings = worker_settings(database_url, simulator)
    simulator.set_faults(rate_429=1.0)
    run_worker(settings, session_factory)  # attempt 1: refused with 429, retried later
    simulator.set_faults(rate_429=0.0)
    run_worker(settings, session_factory, clock=lambda: NOW + timedelta(hours=1))  # attempt 2: sent
    [first] = messages_of(session, appointment)
    callback(session_factory, first, "undelivered", 30003, NOW + timedelta(hours=1, minutes=1))
    reminder = reminder_of(session, appointment)
    assert reminder.status == ReminderStatus.PLANNED and reminder.attempts == 2  # the 429 does not use it up
    assert reminder.due_at == NOW + timedelta(hours=2, minutes=1) and "retrying" in (reminder.reason or "")

    run_worker(settings, session_factory, clock=lambda: NOW + timedelta(hours=2, minutes=2))
    second = next(m for m in messages_of(session, appointment) if m.id != first.id)
    callback(session_factory, second, "undelivered", 30003, NOW + timedelta(hours=2, minutes=3))
    reminder = reminder_of(session, appointment)
    assert reminder.status == ReminderStatus.FAILED and reminder.reason == "the handset is unreachable"
    assert len(simulator.messages(to=patient.phones[0].number)) == 2  # retried once, not twice
    run_worker(settings, session_factory, clock=lambda: NOW + timedelta(hours=5))
    assert len(simulator.messages()) == 2


def test_carrier_filtering_ends_the_reminder_warns_in_the_doctor_and_is_logged_without_patient_data(
    session: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    simulator: SimulatorClient,
    office: Office,
    clinic: Clinic,
    caplog: pytest.LogCaptureFixture,
) -> None:
    patient = make_patient(session, office, first_name="Zebulon", last_name="Quartermaine")
    appointment = book(session, clinic, patient)
    settings = worker_settings(database_url, simulator)
    run_worker(settings, session_factory)
    [message] = messages_of(session, appointment)
    caplog.set_level(logging.WARNING, logger="clinic_reminders.conversations.delivery")
    callback(session_factory, message, "undelivered", 30007, NOW + timedelta(minutes=1))
    reminder = reminder_of(session, appointment)
    assert reminder.status == ReminderStatus.FAILED and "carrier filtered" in (reminder.reason or "")
    session.refresh(patient)
    phone = patient.phones[0]
    assert phone.invalid_at is None and phone.kind == PhoneKind.MOBILE and patient.sms_opted_out_at is None
    assert f"message {message.id}: Twilio error 30007" in caplog.text
    assert_no_patient_data(caplog.text, patient)

    report = doctor(settings, session_factory, CHECK_ID)
    text = check(
        report,
        Status.WARNING,
        "1 text(s) in the last 24 h were not delivered (30007 ×1)",
        "carriers filtered texts as spam",
        fix="review the reminder wording",
    )
    assert_no_patient_data(text, patient)
    assert report.ok  # a warning: reminders still go out
    run_worker(settings, session_factory, clock=lambda: NOW + timedelta(hours=3))
    assert len(simulator.messages()) == 1  # the same text would be filtered again: not re-sent


@pytest.mark.parametrize(
    ("code", "meaning", "fix"),
    [
        (30032, "toll-free sending number is not verified", "toll-free verification"),
        (30034, "not registered for A2P 10DLC", "register the brand and a campaign"),
    ],
)
def test_an_unregistered_sender_holds_the_reminder_and_fails_the_doctor(
    session: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    simulator: SimulatorClient,
    office: Office,
    clinic: Clinic,
    code: int,
    meaning: str,
    fix: str,
) -> None:
    appointment = book(session, clinic, make_patient(session, office))
    settings = worker_settings(database_url, simulator)
    run_worker(settings, session_factory)
    [message] = messages_of(session, appointment)
    callback(session_factory, message, "failed", code, NOW + timedelta(minutes=1))
    reminder = reminder_of(session, appointment)
    assert reminder.status == ReminderStatus.PLANNED  # it waits with the sender's other texts: nothing is lost
    assert (reminder.reason or "").startswith(WAITING_FOR_REGISTRATION)
    run_worker(settings, session_factory, clock=lambda: NOW + timedelta(hours=3))
    assert len(simulator.messages()) == 1  # but never into the same block again
    check(doctor(settings, session_factory, CHECK_ID), Status.FAILED, f"({code} ×1)", meaning, fix=fix)


def test_the_watch_alerts_the_admin_once_a_day_without_patient_data(
    session: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    simulator: SimulatorClient,
    office: Office,
    clinic: Clinic,
) -> None:
    abroad = make_patient(session, office, first_name="Zebulon", phone="+15005550003")  # 21408
    filtered = make_patient(session, office, first_name="Quincy")
    book(session, clinic, abroad)
    appointment = book(session, clinic, filtered)
    settings = worker_settings(database_url, simulator, alert_sms=ADMIN_PHONE)
    run_worker(settings, session_factory)
    callback(session_factory, messages_of(session, appointment)[0], "undelivered", 30007, NOW + timedelta(minutes=1))

    clock = [datetime.now(UTC)]
    watch = Watch(settings, session_factory, clock=lambda: clock[0])
    banners = watch.look()
    assert [(b.id, b.level) for b in banners] == [("delivery.setup", "danger"), ("delivery.filtered", "warning")]
    assert "(21408 ×1)" in banners[0].text and "reminders doctor" in banners[0].text
    assert "(30007 ×1)" in banners[1].text
    [alert] = simulator.messages(to=ADMIN_PHONE)
    assert alert["from"] == CLINIC_NUMBER and "21408" in alert["body"] and "30007" in alert["body"]
    for patient in (abroad, filtered):
        assert_no_patient_data(alert["body"], patient)
    watch.look()
    assert len(simulator.messages(to=ADMIN_PHONE)) == 1  # not again within the day
    clock[0] += timedelta(hours=25)
    assert watch.look() == []  # the failures are older than 24 h now: nothing to say
    assert len(simulator.messages(to=ADMIN_PHONE)) == 1


def _message(
    office: Office, code: int | None, status: str, at: datetime, *, from_: str, to: str, channel: str = "sms"
) -> Message:
    return Message(
        office_id=office.id,
        direction=Direction.OUTBOUND,
        channel=channel,
        to_number=to,
        from_number=from_,
        status=status,
        error_code=code,
        created_at=at,
        updated_at=at,
    )


def test_it_counts_a_failure_until_it_is_known_to_be_over(session: Session, office: Office, clinic: Clinic) -> None:
    """Sender errors end with a later success from that number or when it is no longer used; recipient errors
    with a later success to that recipient; filtering and anything older than 24 h are counted by age alone."""
    now = datetime(2030, 6, 12, 16, 0, tzinfo=UTC)

    def ago(hours: float) -> datetime:
        return now - timedelta(hours=hours)

    used, fixed, retired = "+14155550100", "+14155550101", "+14155550102"
    other = make_office(session, name="Another office")
    F, OK = MessageStatus.FAILED, MessageStatus.DELIVERED
    session.add_all(
        [
            _message(office, 21606, "canceled", ago(0.5), from_=used, to="+12125550001"),  # counts
            _message(office, 21606, "canceled", ago(3), from_=fixed, to="+12125550002"),
            _message(office, None, OK, ago(1), from_=fixed, to="+12125550003"),  # ...fixed since
            _message(office, 30034, F, ago(2), from_=retired, to="+12125550004"),  # no longer used
            _message(office, 21408, F, ago(5), from_=used, to="+12125550005"),  # counts
            _message(office, 21608, "canceled", ago(4), from_=used, to="+12125550006"),
            _message(office, None, OK, ago(2), from_=used, to="+12125550006"),  # ...went through since
            _message(office, 21210, "canceled", ago(1), from_=clinic.phone, to="+12125550007", channel="voice"),
            _message(office, 30007, "undelivered", ago(2), from_=used, to="+12125550008"),  # counts
            _message(office, None, OK, ago(1), from_=used, to="+12125550008"),  # filtering is not "over"
            _message(office, 21606, "canceled", ago(25), from_=used, to="+12125550009"),  # too old
            _message(office, 30003, "undelivered", ago(1), from_=used, to="+12125550010"),  # not watched
            _message(other, 21606, "canceled", ago(1), from_=used, to="+12125550011"),  # another office's
        ]
    )
    clinic.twilio_number = fixed
    session.commit()
    senders = senders_in_use(session, office.id, used)
    assert senders == {"sms": {used, fixed}, "voice": {clinic.phone}}
    found = find(session, office.id, now, senders)
    assert dict(found.counts) == {21606: 1, 21408: 1, 21210: 1, 30007: 1}
    assert found.latest[21606] == ago(0.5) and found.latest[21210] == ago(1) and found.waiting == 0
    assert dict(found.setup) == {21606: 1, 21408: 1, 21210: 1} and dict(found.filtered) == {30007: 1}
