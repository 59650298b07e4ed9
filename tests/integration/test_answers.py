"""End to end with the simulator: a reminder goes out, the patient answers on the simulated phone, the schedule
changes, the patient gets the answer, and the staff inbox holds the exchange. Forged requests change nothing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders import booking
from clinic_reminders.dispatcher.worker import Worker
from clinic_reminders.gateways import compute_signature
from clinic_reminders.models import (
    Appointment,
    AppointmentStatus,
    Channel,
    Clinic,
    ConsentEvent,
    DeliveryEvent,
    Message,
    Office,
    Patient,
    PhoneKind,
    Reminder,
    ReminderStatus,
    RuleCondition,
)
from clinic_reminders.settings import Settings
from clinic_reminders.simulator import DEFAULT_AUTH_TOKEN, SimulatorConfig
from clinic_reminders.web.app import create_app
from tests.conftest import TEST_SECRET_KEY
from tests.factories import make_clinic, make_office, make_patient, make_rule
from tests.fixtures.simulator import CLINIC_NUMBER, SimulatorClient, ThreadedServer, wait_until


class Service:
    """The web service on a real port, so that the simulator can call its webhooks."""

    def __init__(self, settings: Settings, engine: Engine, simulator: SimulatorClient, sessions: sessionmaker[Session]):
        self.simulator, self.sessions = simulator, sessions
        app = create_app(settings, engine)
        self.server = ThreadedServer(app)
        # The public URL Twilio is given is known once the port is: webhooks are signed against it.
        self.settings = settings.model_copy(update={"public_url": self.server.url})
        app.state.settings = self.settings

    @property
    def url(self) -> str:
        return self.server.url

    def dispatch(self) -> None:
        """One worker pass at a pinned "now" that sees every test reminder as due, inside allowed hours."""
        now = datetime.now(UTC).replace(hour=16, minute=0) + timedelta(days=1)  # noon in New York, tomorrow
        asyncio.run(Worker(self.settings, self.sessions, poll_interval=0.05, clock=lambda: now).run(once=True))


@pytest.fixture
def service(
    engine: Engine, session_factory: sessionmaker[Session], database_url: str, simulator: SimulatorClient
) -> Iterator[Service]:
    settings = Settings(
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        embedded_worker=False,
        twilio_account_sid=simulator.account_sid,
        twilio_auth_token=simulator.auth_token,
        twilio_phone_number=CLINIC_NUMBER,
        twilio_api_base_url=simulator.base_url,
        sender_rate=1000.0,
    )
    service = Service(settings, engine, simulator, session_factory)
    with service.server:
        simulator.reset(
            SimulatorConfig.for_account(
                simulator.account_sid,
                simulator.auth_token,
                phone_numbers=[CLINIC_NUMBER],
                sms_url=f"{service.url}/app_confirm",
                sms_method="GET",  # as the seed configures it
                voice_url=f"{service.url}/app_confirm",
                verified_caller_ids=["+12125550100"],
                callback_delay_ms=5,
            )
        )
        yield service


@pytest.fixture
def office(session: Session) -> Office:
    office = make_office(session)
    make_rule(session, office)
    make_rule(session, office, "Call", Channel.VOICE, condition=RuleCondition.UNANSWERED_AND_NO_SMS)
    return office


@pytest.fixture
def clinic(session: Session, office: Office) -> Clinic:
    return make_clinic(session, office, name="Riverside Family Medicine", phone="+12125550100")


def book(session: Session, clinic: Clinic, patient: Patient) -> Appointment:
    starts = datetime.now(UTC).replace(hour=20, minute=0) + timedelta(days=2)
    appointment = booking.create(
        session,
        Appointment(office_id=clinic.office_id, clinic_id=clinic.id, patient_id=patient.id, starts_at=starts),
        "test",
    )
    for reminder in session.scalars(select(Reminder).where(Reminder.appointment_id == appointment.id)):
        reminder.due_at = datetime.now(UTC) - timedelta(minutes=1)
    session.commit()
    return appointment


def fresh(session: Session, row: Any) -> Any:
    session.expire_all()
    return session.get(type(row), row.id)


def conversation(session: Session, patient: Patient) -> list[tuple[str, str]]:
    session.expire_all()
    rows = session.scalars(select(Message).where(Message.patient_id == patient.id).order_by(Message.id))
    return [(m.direction, m.body) for m in rows]


def test_a_patient_confirms_by_text(service: Service, session: Session, office: Office, clinic: Clinic) -> None:
    patient = make_patient(session, office, first_name="Ana")
    appointment = book(session, clinic, patient)
    number = patient.phones[0].number
    service.dispatch()
    [reminder_text] = service.simulator.messages(to=number)
    service.simulator.wait_for_message(reminder_text["sid"], lambda m: m["status"] == "delivered")
    wait_until(
        lambda: (
            session.scalar(select(Message.status).where(Message.twilio_sid == reminder_text["sid"])) == "delivered"
            or session.expire_all()
        )
    )

    answer = service.simulator.reply(from_=number, to=CLINIC_NUMBER, body="1")
    assert answer["status"] == 200
    assert "confirmed" in answer["body"]
    assert fresh(session, appointment).status == AppointmentStatus.CONFIRMED
    assert fresh(session, appointment).status_changed_by == "patient:sms"
    replies = [m for m in service.simulator.messages(to=number) if m["sid"] != reminder_text["sid"]]
    assert len(replies) == 1 and "confirmed" in replies[0]["body"]  # the patient's phone shows the answer
    inbox = conversation(session, patient)
    assert [d for d, _ in inbox] == ["outbound", "inbound", "outbound"]
    assert inbox[1][1] == "1"
    inbound = session.scalars(select(Message).where(Message.direction == "inbound")).one()
    assert inbound.unread and not inbound.needs_person and inbound.interpretation == "confirm"


def test_a_spanish_speaker_reschedules_in_spanish(
    service: Service, session: Session, office: Office, clinic: Clinic
) -> None:
    patient = make_patient(session, office, first_name="Sofía", language="es")
    appointment = book(session, clinic, patient)
    service.dispatch()
    answer = service.simulator.reply(from_=patient.phones[0].number, to=CLINIC_NUMBER, body="quiero cambiar la cita")
    assert "Gracias" in answer["body"]
    assert fresh(session, appointment).status == AppointmentStatus.RESCHEDULE_REQUESTED


def test_an_unclear_answer_goes_to_a_person(service: Service, session: Session, office: Office, clinic: Clinic) -> None:
    patient = make_patient(session, office)
    appointment = book(session, clinic, patient)
    service.dispatch()
    answer = service.simulator.reply(from_=patient.phones[0].number, to=CLINIC_NUMBER, body="can I come at 3 instead?")
    assert "will call you" in answer["body"]
    assert fresh(session, appointment).status == AppointmentStatus.SCHEDULED
    inbound = session.scalars(select(Message).where(Message.direction == "inbound")).one()
    assert inbound.needs_person


def test_cancel_alone_opts_out_and_flags_the_appointment(
    service: Service, session: Session, office: Office, clinic: Clinic
) -> None:
    patient = make_patient(session, office)
    appointment = book(session, clinic, patient)
    service.dispatch()
    service.simulator.reply(from_=patient.phones[0].number, to=CLINIC_NUMBER, body="CANCEL")
    appointment = fresh(session, appointment)
    assert appointment.status == AppointmentStatus.SCHEDULED  # never silently cancelled
    assert appointment.staff_flag and "call the patient" in appointment.staff_flag
    patient = fresh(session, patient)
    assert patient.sms_opted_out_at is not None and patient.sms_opt_out_source == "sms:CANCEL"


def test_stop_and_start(service: Service, session: Session, office: Office, clinic: Clinic) -> None:
    patient = make_patient(session, office)
    session.commit()
    number = patient.phones[0].number
    stop = service.simulator.reply(from_=number, to=CLINIC_NUMBER, body="STOP")
    assert "<Message" not in stop["body"]  # Twilio answers STOP itself
    assert fresh(session, patient).sms_opted_out_at is not None
    service.simulator.reply(from_=number, to=CLINIC_NUMBER, body="START")
    assert fresh(session, patient).sms_opted_out_at is None
    actions = session.scalars(select(ConsentEvent.action).where(ConsentEvent.patient_id == patient.id)).all()
    assert list(actions) == ["opt_out", "opt_in"]


def test_a_voice_reminder_answered_by_pressing_2_cancels(
    service: Service, session: Session, office: Office, clinic: Clinic
) -> None:
    patient = make_patient(session, office, phone_kind=PhoneKind.LANDLINE)
    appointment = book(session, clinic, patient)
    service.dispatch()
    [call] = service.simulator.calls()
    assert call["from"] == "+12125550100"  # the clinic's own number as caller ID
    service.simulator.answer(call["sid"])
    pressed = service.simulator.press(call["sid"], "2")
    assert "cancel" in str(pressed).lower()
    assert fresh(session, appointment).status == AppointmentStatus.CANCELLED
    assert fresh(session, appointment).status_changed_by == "patient:voice"
    reminders = session.scalars(select(Reminder).where(Reminder.appointment_id == appointment.id)).all()
    assert {r.rule.name: r.status for r in reminders}["Call"] == ReminderStatus.SENT


def test_a_forged_request_gets_403_and_changes_nothing(
    service: Service, session: Session, office: Office, clinic: Clinic
) -> None:
    patient = make_patient(session, office)
    appointment = book(session, clinic, patient)
    params = {"MessageSid": "SM" + "f" * 32, "From": patient.phones[0].number, "To": CLINIC_NUMBER, "Body": "2"}
    url = f"{service.url}/app_confirm"
    forged = {"X-Twilio-Signature": compute_signature("not-the-token", url, params)}
    assert httpx.post(url, data=params, headers=forged).status_code == 403
    assert httpx.post(url, data=params).status_code == 403
    assert fresh(session, appointment).status == AppointmentStatus.SCHEDULED
    assert session.scalars(select(Message)).all() == []


def _callback(service: Service, sid: str, status: str, **extra: str) -> int:
    url = f"{service.url}/twilio/status"
    params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": service.simulator.account_sid, **extra}
    headers = {"X-Twilio-Signature": compute_signature(DEFAULT_AUTH_TOKEN, url, params)}
    return httpx.post(url, data=params, headers=headers).status_code


def test_replayed_and_out_of_order_callbacks(
    service: Service, session: Session, office: Office, clinic: Clinic
) -> None:
    patient = make_patient(session, office)
    book(session, clinic, patient)
    service.simulator.set_faults()  # callbacks from the simulator are fine too; here we send our own
    service.dispatch()
    message = session.scalars(select(Message)).one()
    sid = message.twilio_sid
    assert sid
    wait_until(lambda: fresh(session, message).status == "delivered")
    for status in ("delivered", "sent", "queued", "delivered", "undelivered"):
        assert _callback(service, sid, status, ErrorCode="30003") in (200, 204)
    assert fresh(session, message).status == "delivered"
    events = session.scalars(select(DeliveryEvent.status).where(DeliveryEvent.twilio_sid == sid)).all()
    assert sorted(events) == sorted(set(events))  # each status recorded once, however often it came


def test_a_failed_delivery_teaches_that_the_number_is_a_landline(
    service: Service, session: Session, office: Office, clinic: Clinic
) -> None:
    patient = make_patient(session, office, phone="+15005553006")  # the simulator's landline (30006)
    appointment = book(session, clinic, patient)
    service.dispatch()
    message = session.scalars(select(Message)).one()
    wait_until(lambda: fresh(session, message).status == "undelivered")
    assert fresh(session, message).error_code == 30006
    assert fresh(session, patient).phones[0].kind == PhoneKind.LANDLINE
    reminder = session.scalars(
        select(Reminder).where(Reminder.appointment_id == appointment.id, Reminder.channel == "sms")
    ).one()
    assert reminder.status == ReminderStatus.FAILED


def test_no_patient_data_reaches_the_logs(
    service: Service, session: Session, office: Office, clinic: Clinic, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    patient = make_patient(session, office, first_name="Zebulon")
    book(session, clinic, patient)
    number = patient.phones[0].number
    service.dispatch()
    service.simulator.reply(from_=number, to=CLINIC_NUMBER, body="I will be there, see you Thursday")
    forged = httpx.get(f"{service.url}/app_confirm", params={"From": number, "Body": "2"})
    assert forged.status_code == 403
    ours = [r for r in caplog.records if r.name.startswith(("clinic_reminders", "uvicorn", "sqlalchemy"))]
    text = "\n".join(r.getMessage() for r in ours if not r.name.startswith("clinic_reminders.simulator"))
    assert "app_confirm" in text  # the requests were logged...
    for secret in (number, number[2:], "Zebulon", "see you Thursday"):
        assert secret not in text  # ...but not who sent them or what they said


def test_a_reschedule_request_needs_a_person_until_handled(
    service: Service, session: Session, office: Office, clinic: Clinic
) -> None:
    patient = make_patient(session, office)
    appointment = book(session, clinic, patient)
    service.dispatch()
    service.simulator.reply(from_=patient.phones[0].number, to=CLINIC_NUMBER, body="3")
    assert fresh(session, appointment).status == AppointmentStatus.RESCHEDULE_REQUESTED
    inbound = session.scalars(select(Message).where(Message.direction == "inbound")).one()
    assert inbound.interpretation == "reschedule" and inbound.needs_person  # a new time is for a person to find


def test_an_automatic_reply_is_followed_until_delivered(
    service: Service, session: Session, office: Office, clinic: Clinic
) -> None:
    patient = make_patient(session, office)
    book(session, clinic, patient)
    service.dispatch()
    answer = service.simulator.reply(from_=patient.phones[0].number, to=CLINIC_NUMBER, body="1")
    [sent] = [m for m in service.simulator.messages(to=patient.phones[0].number) if "confirmed" in m["body"]]

    def reply() -> Message | None:
        session.expire_all()
        return session.scalars(select(Message).where(Message.body == sent["body"])).one_or_none()

    wait_until(lambda: (r := reply()) is not None and r.status == "delivered")
    assert "/twilio/status?m=" in answer["body"]  # the TwiML answer names the row its callbacks are for
    assert reply().twilio_sid == sent["sid"]  # type: ignore[union-attr]
