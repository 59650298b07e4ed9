"""Input an attacker or an unlucky operator sends: each of these answered 500 (and logged the patient's data), on
SQLite, PostgreSQL or both. Now each gets a clear answer and changes nothing it should not."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from clinic_reminders.models import Appointment, AppointmentStatus, DeliveryEvent, Direction, Message, Office, Patient
from clinic_reminders.models.messages import ADDRESS_LENGTH, SID_LENGTH, STATUS_LENGTH
from clinic_reminders.settings import Settings
from clinic_reminders.web.app import create_app
from clinic_reminders.web.webhooks.signed import TWILIO_SID_LENGTH
from tests.factories import make_appointment, make_clinic, make_message, make_patient
from tests.fixtures.prism import SPEC_DIR
from tests.fixtures.simulator import ThreadedServer
from tests.web import webhooks
from tests.web.helpers import count, error_fields

PATIENT_NUMBER = "+12125557001"
SENT_SID = "SM" + "5" * 32
TOO_BIG = 2**64  # 18446744073709551616
WHATSAPP = "whatsapp:+14155550100"  # 21 characters: the number columns had 20


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return Settings(**{**settings.model_dump(), **webhooks.TWILIO_SETTINGS})


@pytest.fixture
def patient(session: Session, office: Office) -> Patient:
    clinic = make_clinic(session, office)
    patient = make_patient(session, office, phone=PATIENT_NUMBER)
    make_appointment(session, clinic, patient)
    make_message(session, office, patient, body="Reminder: reply 1 to confirm", twilio_sid=SENT_SID, status="sent")
    session.commit()
    return patient


@pytest.fixture
def twilio(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.mark.parametrize(
    ("method", "url", "body", "field"),
    [
        ("GET", f"/api/patients/{TOO_BIG}", None, "patient_id"),
        ("GET", f"/api/patients?offset={TOO_BIG}", None, "offset"),
        ("GET", f"/api/appointments?clinic_id={TOO_BIG}", None, "clinic_id"),
        ("GET", f"/api/messages?patient_id={2**63}", None, "patient_id"),
        ("PATCH", f"/api/clinics/{2**31}", {"name": "Uptown"}, "clinic_id"),
        ("POST", "/api/appointments", {"clinic_id": TOO_BIG, "patient_id": 1, "starts_at": "2031-01-15T09:00Z"},
         "clinic_id"),
        ("PATCH", "/api/patients/1", {"first_name": "Ana\x00"}, "first_name"),
        ("GET", "/api/patients?q=Ana%00", None, "q"),
    ],
)  # fmt: skip
def test_an_id_beyond_the_databases_integers_or_unstorable_text_is_refused_by_name(
    staff_client: TestClient, patient: Patient, method: str, url: str, body: dict[str, Any] | None, field: str
) -> None:
    assert field in error_fields(staff_client.request(method, url, json=body))


@dataclass(frozen=True)
class Delivery:
    """A signed webhook, what it must answer, and what must be stored after it."""

    send: Callable[[TestClient], httpx.Response]
    status: int
    stored: Callable[[Session], bool]


def _inbound(session: Session) -> list[Message]:
    session.expire_all()
    return list(session.scalars(select(Message).where(Message.direction == Direction.INBOUND)))


def _sent(session: Session) -> Message:
    session.expire_all()
    return session.scalars(select(Message).where(Message.twilio_sid == SENT_SID)).one()


def _callback(status: str, **extra: str) -> Callable[[TestClient], httpx.Response]:
    params = {"AccountSid": webhooks.ACCOUNT_SID, "MessageSid": SENT_SID, "MessageStatus": status, **extra}
    return lambda client: webhooks.post(client, "/twilio/status", params)


def _text(sid: str = "SM" + "7" * 32, **extra: str) -> Callable[[TestClient], httpx.Response]:
    return lambda client: webhooks.get(client, "/app_confirm", webhooks.sms(PATIENT_NUMBER, "1", sid, **extra))


def _call(query: str) -> Callable[[TestClient], httpx.Response]:
    params = {
        "AccountSid": webhooks.ACCOUNT_SID,
        "CallSid": "CA" + "8" * 32,
        "From": PATIENT_NUMBER,
        "To": webhooks.CLINIC_NUMBER,
    }
    return lambda client: webhooks.post(client, f"/app_confirm?{query}", params)


DELIVERIES = {
    "NumSegments=abc is ignored": Delivery(
        _text(NumSegments="abc"), 200, lambda db: [m.num_segments for m in _inbound(db)] == [1]
    ),
    "a 20-digit ErrorCode stays out of the Integer columns": Delivery(
        _callback("undelivered", ErrorCode="1" * 20),
        204,
        lambda db: (_sent(db).status, _sent(db).error_code) == ("undelivered", None)
        and db.scalars(select(DeliveryEvent.params)).one()["ErrorCode"] == "1" * 20,
    ),
    "a 20-digit NumSegments in a callback is ignored": Delivery(
        _callback("delivered", NumSegments="9" * 20), 204, lambda db: _sent(db).status == "delivered"
    ),
    "a 23-digit ?call= is no call of ours": Delivery(
        _call("call=" + "1" * 23 + "&step=answer"), 200, lambda db: _inbound(db) == []
    ),
    "a WhatsApp sender is kept whole": Delivery(
        _text(From=WHATSAPP), 200, lambda db: [m.from_number for m in _inbound(db)] == [WHATSAPP]
    ),
    "a 100-character MessageSid is not Twilio's": Delivery(
        _text(sid="SM" + "a" * 98), 400, lambda db: _inbound(db) == []
    ),
    "a 30-character MessageStatus is not Twilio's": Delivery(
        _callback("x" * 30), 400, lambda db: count(db, DeliveryEvent) == 0 and _sent(db).status == "sent"
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", DELIVERIES.values(), ids=DELIVERIES.keys())
def test_a_malformed_webhook_parameter_gets_a_clear_answer(
    twilio: TestClient, session: Session, patient: Patient, case: Delivery
) -> None:
    response = case.send(twilio)
    assert response.status_code == case.status, response.text
    assert case.stored(session)


@pytest.fixture
def server(settings: Settings, engine: Engine, patient: Patient) -> Iterator[ThreadedServer]:
    """The app on a real port: Twilio's copies of a webhook arrive on separate connections at once."""
    app = create_app(settings, engine)
    with ThreadedServer(app) as running:
        app.state.settings = settings.model_copy(update={"public_url": running.url})
        yield running


def _ten_at_once(server: ThreadedServer, send: Callable[[httpx.Client], httpx.Response]) -> list[httpx.Response]:
    with httpx.Client(base_url=server.url, timeout=60) as client, ThreadPoolExecutor(10) as pool:
        return list(pool.map(lambda _: send(client), range(10)))


def test_ten_copies_of_one_text_at_once_are_answered_and_acted_on_once(
    server: ThreadedServer, session: Session, patient: Patient
) -> None:
    params = webhooks.sms(PATIENT_NUMBER, "1", "SM" + "9" * 32)
    answers = _ten_at_once(server, lambda client: webhooks.get(client, "/app_confirm", params, server.url))
    assert [a.status_code for a in answers] == [200] * 10
    assert sum("<Message" in a.text for a in answers) == 1, "one confirmation text, the others answer empty"
    assert len(_inbound(session)) == 1
    replies = session.scalars(
        select(Message).where(Message.direction == Direction.OUTBOUND, Message.twilio_sid.is_(None))
    )
    assert len(list(replies)) == 1
    assert session.scalars(select(Appointment.status)).one() == AppointmentStatus.CONFIRMED


def test_ten_copies_of_one_status_callback_at_once_are_kept_once(
    server: ThreadedServer, session: Session, patient: Patient
) -> None:
    params = {"AccountSid": webhooks.ACCOUNT_SID, "MessageSid": SENT_SID, "MessageStatus": "delivered"}
    answers = _ten_at_once(server, lambda client: webhooks.post(client, "/twilio/status", params, server.url))
    assert [a.status_code for a in answers] == [204] * 10
    assert count(session, DeliveryEvent) == 1
    assert _sent(session).status == "delivered"


def test_the_columns_fit_every_sid_and_status_twilio_documents() -> None:
    spec = json.loads((SPEC_DIR / "twilio_api_v2010.json").read_text())
    schemas = spec["components"]["schemas"]
    statuses = schemas["message_enum_status"]["enum"] + schemas["call_enum_status"]["enum"]
    assert max(map(len, statuses)) <= STATUS_LENGTH
    sids = [schemas[name]["properties"]["sid"] for name in ("api.v2010.account.message", "api.v2010.account.call")]
    assert {sid["maxLength"] for sid in sids} == {TWILIO_SID_LENGTH}
    assert TWILIO_SID_LENGTH + len("/answer") <= SID_LENGTH  # the key of a call's key press
    assert len(WHATSAPP) <= ADDRESS_LENGTH
