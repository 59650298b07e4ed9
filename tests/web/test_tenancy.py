"""Two offices on one deployment: a user of one never sees or changes the other's rows, and a webhook signed with
one office's auth token is refused for the other's numbers.

The routes are enumerated from the app itself, so a new API route or staff page is covered the day it is added:
one with an object id in its path must answer 404 to office A's admin for office B's object (and change nothing
of B's), one without must not show anything of B's. A new path parameter or a body the test cannot send fails
the test until it is taught here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from clinic_reminders import events
from clinic_reminders.crypto import SecretBox
from clinic_reminders.gateways import SIGNATURE_HEADER, compute_signature
from clinic_reminders.models import (
    Base,
    Broadcast,
    Delivery,
    Destination,
    Direction,
    Event,
    EventType,
    Message,
    Office,
    PmsCode,
    PmsCodeKind,
    RecallInterval,
    Role,
    StaffUser,
    VideoPurpose,
    VideoVisit,
    WaitlistEntry,
    utcnow,
)
from clinic_reminders.settings import Settings
from tests.conftest import TEST_SECRET_KEY
from tests.factories import (
    make_appointment,
    make_clinic,
    make_message,
    make_office,
    make_patient,
    make_provider,
    make_rule,
    make_token,
    make_user,
    unique_phone,
)
from tests.web.pages import PageClient, signed_in

MARK = "Zqxbravo"  # in a name, a body or an address of every row of office B that a page or answer could show
PUBLIC_URL = "http://testserver"
NO_TWILIO = "http://127.0.0.1:9"  # the routes that ask Twilio get a refused connection (502), never the internet
A_SID, A_TOKEN, A_NUMBER = "AC" + "a" * 32, "token-of-office-a-0123456789", "+13035550101"
B_SID, B_TOKEN, B_NUMBER = "AC" + "b" * 32, "token-of-office-b-0123456789", "+13035550202"

# Routes no staff login opens: Twilio's webhooks (signed: see the tests below), a FHIR server's notifications (a
# destination's token), the patient's pages (a link's token), and the service's own.
NOT_STAFF = re.compile(
    r"^/(app_confirm|twilio/|fhir/subscription/|p/|portal/|healthz|metrics|openapi\.json|api/docs|login|logout)|^/$"
)
# A body the route takes, for those whose body would otherwise be refused (422) before the object is looked up.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/appointments/{appointment_id}/status"): {"status": "confirmed"},
    ("POST", "/api/conversations/{patient_id}/messages"): {"body": "hello"},
    ("POST", "/api/pms-codes/{code_id}/provider"): {},
    ("PUT", "/api/followups/recall-due/{patient_id}"): {"due_on": "2031-01-15"},
    ("POST", "/schedule/appointments/{appointment_id}"): {"action": "confirmed"},
    ("POST", "/inbox/number/{number}/link"): {"patient_id": "1"},  # office A's own patient
    ("POST", "/inbox/number/{number}/new-patient"): {"first_name": "New", "last_name": "Patient"},
    ("POST", "/inbox/{patient_id}/reply"): {"body": "hello"},
}
ID_PARAMS = ("clinic_id", "provider_id", "patient_id", "appointment_id", "destination_id")  # list filters


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    has_body: bool
    query: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def routes(app: FastAPI) -> list[Route]:
    """Every route of the app that a staff login opens, with its method."""
    found: list[Route] = []
    for route in app.routes:
        contexts = route.effective_route_contexts() if hasattr(route, "effective_route_contexts") else [route]
        for ctx in contexts:
            methods = sorted(set(getattr(ctx, "methods", None) or ()) - {"HEAD"})
            path = getattr(ctx, "path", "")
            if not methods or NOT_STAFF.search(path):
                continue
            dependant = getattr(ctx, "dependant", None)
            query = tuple(p.name for p in dependant.query_params) if dependant else ()
            has_body = getattr(ctx, "body_field", None) is not None
            found += [Route(m, path, has_body, query) for m in methods]
    return found


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        embedded_worker=False,
        public_url=PUBLIC_URL,
        twilio_api_base_url=NO_TWILIO,
    )


def _furnish(session: Session, office: Office, mark: str, number: str) -> dict[str, Any]:
    """One of each object a route names, every name carrying `mark`; returns them by path parameter."""
    clinic = make_clinic(session, office, name=f"{mark} Clinic", phone=unique_phone(), twilio_number=number)
    provider = make_provider(session, office, clinic, name=f"{mark} Provider")
    patient = make_patient(session, office, first_name=mark, last_name=f"{mark}son")
    appointment = make_appointment(session, clinic, patient, provider)
    message = make_message(session, office, appointment=appointment, body=f"{mark} reminder")
    make_message(session, office, patient, direction=Direction.INBOUND, body=f"{mark} question", unread=True)
    stranger = unique_phone()
    make_message(session, office, direction=Direction.INBOUND, body=f"{mark} who", number=stranger)
    rule = make_rule(session, office, name=f"{mark} rule")
    user = make_user(session, office, Role.STAFF, email=f"{mark.lower()}.{office.id}@example.com", name=mark)
    destination = Destination(
        office_id=office.id,
        name=f"{mark} PMS",
        kind="webhook",
        settings={"url": f"https://pms.example.com/{mark}"},
        secret_encrypted=SecretBox(TEST_SECRET_KEY).encrypt("whsec-0123456789"),
    )
    session.add(destination)
    events.record(session, office.id, EventType.APPOINTMENT_CONFIRMED, appointment_id=appointment.id, by="patient")
    session.flush()
    event_id = session.scalars(select(Event.id).where(Event.office_id == office.id).order_by(Event.id.desc())).first()
    assert event_id is not None
    delivery = Delivery(
        office_id=office.id,
        destination_id=destination.id,
        event_id=event_id,
        appointment_id=appointment.id,
        status="failed",
        next_attempt_at=utcnow(),
    )
    code = PmsCode(office_id=office.id, kind=PmsCodeKind.PROVIDER, code=f"{mark}-1", name=mark, last_seen_at=utcnow())
    entry = WaitlistEntry(office_id=office.id, patient_id=patient.id)
    visit = VideoVisit(office_id=office.id, purpose=VideoPurpose.TEST, unique_name=f"{mark}-test")
    interval = RecallInterval(office_id=office.id, name=f"{mark} check-up", months=12)
    day = utcnow().date()
    closed = Broadcast(
        office_id=office.id, token=f"{mark}-token", clinic_id=clinic.id, first_day=day, last_day=day, created_by=mark
    )
    session.add_all([delivery, code, entry, visit, interval, closed])
    session.flush()
    return {
        "clinic_id": clinic.id,
        "provider_id": provider.id,
        "patient_id": patient.id,
        "appointment_id": appointment.id,
        "message_id": message.id,
        "rule_id": rule.id,
        "user_id": user.id,
        "destination_id": destination.id,
        "delivery_id": delivery.id,
        "code_id": code.id,
        "entry_id": entry.id,
        "visit_id": visit.id,
        "interval_id": interval.id,
        "broadcast_id": closed.id,
        "office_id": office.id,  # the operator's pages: not an operator's, so none exists for A's admin
        "number": stranger,
        "sid": message.twilio_sid,
    }


@dataclass
class Tenants:
    a: Office
    b: Office
    a_admin: StaffUser
    a_token: str
    b_objects: dict[str, Any]
    a_objects: dict[str, Any]


@pytest.fixture
def tenants(session: Session) -> Tenants:
    box = SecretBox(TEST_SECRET_KEY)
    a = make_office(
        session,
        name="Alpha Office",
        twilio_account_sid=A_SID,
        twilio_phone_number=A_NUMBER,
        twilio_auth_token_encrypted=box.encrypt(A_TOKEN),
    )
    b = make_office(
        session,
        name=f"{MARK} Office",
        hosted=True,
        twilio_account_sid=B_SID,
        twilio_phone_number=B_NUMBER,
        twilio_auth_token_encrypted=box.encrypt(B_TOKEN),
    )
    a_objects = _furnish(session, a, "Alpha", "+13035550111")
    b_objects = _furnish(session, b, MARK, "+13035550222")
    a_admin = make_user(session, a, Role.ADMIN, email="admin@alpha.example.com")
    make_user(session, b, Role.ADMIN, email=f"admin@{MARK.lower()}.example.com")
    token = make_token(session, a_admin)
    session.commit()
    return Tenants(a, b, a_admin, token, b_objects, a_objects)


@pytest.fixture
def api(app: FastAPI, tenants: Tenants) -> Iterator[TestClient]:
    with TestClient(app, headers={"Authorization": f"Bearer {tenants.a_token}"}) as client:
        yield client


@pytest.fixture
def pages(app: FastAPI, tenants: Tenants) -> PageClient:
    return signed_in(app, tenants.a_admin)


def snapshot(engine: Engine, office_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table that belongs to the office, as stored."""
    with engine.connect() as conn:
        return {
            table.name: sorted(map(tuple, conn.execute(table.select().where(table.c.office_id == office_id))), key=repr)
            for table in Base.metadata.sorted_tables
            if "office_id" in table.c
        }


def _url(route: Route, objects: dict[str, Any]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "key":  # /clinics/{key} and /providers/{key}: "new" or the row's id
            name = "clinic_id" if route.path.startswith("/clinics") else "provider_id"
        assert name in objects, f"{route}: teach test_tenancy.py an object of office B for {{{name}}}"
        return str(objects[name])

    return re.sub(r"{(\w+)(?::\w+)?}", value, route.path)


def _request(api: TestClient, pages: PageClient, route: Route, url: str) -> Any:
    body = BODIES.get((route.method, route.path))
    if route.path.startswith("/api/"):
        return api.request(route.method, url, json=body if body is not None else ({} if route.has_body else None))
    if route.method == "GET":
        return pages.get(url, follow_redirects=False)
    return pages.post(url, body)


def test_every_route_with_an_object_id_answers_404_for_another_offices_object(
    app: FastAPI, engine: Engine, tenants: Tenants, api: TestClient, pages: PageClient
) -> None:
    before = snapshot(engine, tenants.b.id)
    named = [r for r in routes(app) if "{" in r.path]
    assert len(named) > 60  # the enumeration found the app's routes
    wrong = {}
    for route in named:
        response = _request(api, pages, route, _url(route, tenants.b_objects))
        if response.status_code != 404 or MARK in response.text:
            wrong[str(route)] = (response.status_code, response.text[:200])
    assert not wrong, "\n".join(f"{k}: {v}" for k, v in wrong.items())
    assert snapshot(engine, tenants.b.id) == before


def test_the_same_routes_find_the_offices_own_objects(
    app: FastAPI, tenants: Tenants, api: TestClient, pages: PageClient
) -> None:
    """The 404s above are about the office: A's own objects are found by the same GET routes."""
    for route in routes(app):
        if "{" in route.path and route.method == "GET" and "operator" not in route.path:
            response = _request(api, pages, route, _url(route, tenants.a_objects))
            assert response.status_code != 404, f"{route}: {response.text[:200]}"


def test_no_list_page_or_answer_shows_another_offices_rows(
    app: FastAPI, tenants: Tenants, api: TestClient, pages: PageClient
) -> None:
    lists = [r for r in routes(app) if "{" not in r.path and r.method == "GET"]
    assert len(lists) > 20
    shown = {}
    for route in lists:
        for filters in ({}, {p: tenants.b_objects[p] for p in route.query if p in ID_PARAMS}):
            response = (api if route.path.startswith("/api/") else pages.client).get(route.path, params=filters)
            assert response.status_code < 500 or response.status_code == 502, f"{route}: {response.status_code}"
            if MARK in response.text:
                shown[f"{route} {filters}"] = response.text[response.text.index(MARK) - 100 :][:200]
    assert shown == {}
    # the marks show where they belong: A's own rows are in A's lists
    assert "Alpha" in api.get("/api/patients").text and "Alpha" in pages.get("/patients").text


def test_an_operator_sees_every_office_and_an_offices_admin_sees_no_operator_page(
    app: FastAPI, session: Session, tenants: Tenants, pages: PageClient
) -> None:
    operator = make_user(session, tenants.a, Role.OPERATOR, email="host@example.com")
    session.commit()
    assert pages.get("/operator/offices").status_code == 404
    page = signed_in(app, operator).get("/operator/offices")
    assert page.status_code == 200
    assert "Alpha Office" in page.text and f"{MARK} Office" in page.text


# --- webhooks -------------------------------------------------------------------------------------------------


def _sms(client: TestClient, token: str, account: str, to: str, sender: str, sid: str) -> Any:
    params = {"AccountSid": account, "MessageSid": sid, "From": sender, "To": to, "Body": "1"}
    target = "/app_confirm?" + "&".join(f"{k}={v.replace('+', '%2B')}" for k, v in params.items())
    return client.get(target, headers={SIGNATURE_HEADER: compute_signature(token, PUBLIC_URL + target)})


def test_a_webhook_signed_with_one_offices_token_is_refused_for_the_others_numbers(
    app: FastAPI, engine: Engine, session: Session, tenants: Tenants
) -> None:
    sender = unique_phone()
    before = snapshot(engine, tenants.b.id)
    with TestClient(app) as client:
        for account in (A_SID, B_SID):  # A's token, B's number, whichever account the request claims
            for number in (B_NUMBER, "+13035550222"):  # B's own number and its clinic's
                assert _sms(client, A_TOKEN, account, number, sender, "SM" + "1" * 32).status_code == 403
        assert _sms(client, A_TOKEN, "AC" + "c" * 32, A_NUMBER, sender, "SM" + "2" * 32).status_code == 403
        assert snapshot(engine, tenants.b.id) == before
        # the same texts, each signed by its own office, are taken: the refusals above were about the office
        assert _sms(client, B_TOKEN, B_SID, B_NUMBER, sender, "SM" + "3" * 32).status_code == 200
        assert _sms(client, A_TOKEN, A_SID, A_NUMBER, sender, "SM" + "4" * 32).status_code == 200
    with engine.connect() as conn:
        taken = dict(
            conn.execute(select(Message.twilio_sid, Message.office_id).where(Message.twilio_sid.is_not(None))).all()
        )
    assert taken["SM" + "3" * 32] == tenants.b.id and taken["SM" + "4" * 32] == tenants.a.id
    assert "SM" + "1" * 32 not in taken and "SM" + "2" * 32 not in taken


def test_a_status_callback_of_one_office_never_touches_the_others_message(
    app: FastAPI, engine: Engine, session: Session, tenants: Tenants
) -> None:
    message = session.get(Message, tenants.b_objects["message_id"])
    assert message is not None
    message.twilio_sid = "SM" + "b" * 32
    session.commit()
    before = snapshot(engine, tenants.b.id)
    params = {"AccountSid": A_SID, "MessageSid": message.twilio_sid, "MessageStatus": "failed", "ErrorCode": "30003"}
    params |= {"From": A_NUMBER, "To": message.to_number}
    path = f"/twilio/status?m={message.id}"
    with TestClient(app) as client:
        signature = compute_signature(A_TOKEN, PUBLIC_URL + path, params)
        assert client.post(path, data=params, headers={SIGNATURE_HEADER: signature}).status_code == 204
    assert snapshot(engine, tenants.b.id) == before


def test_the_doctors_test_webhook_is_recorded_for_its_own_office_only(
    app: FastAPI, session: Session, tenants: Tenants, api: TestClient
) -> None:
    """The set-up page's "last signed test webhook" is the office's own, whichever replica received it (a row,
    not a process's memory): B's ping never shows on A's page, and a ping with a wrong signature is recorded as
    invalid for the office its account names."""
    b_admin = make_user(session, tenants.b, Role.ADMIN, email="second@b.example.com")
    b_api = TestClient(app, headers={"Authorization": f"Bearer {make_token(session, b_admin)}"})
    session.commit()

    def ping(token: str, account: str, number: str) -> int:
        target = f"/twilio/doctor-ping?check=t&AccountSid={account}&To={number.replace('+', '%2B')}"
        return api.get(target, headers={SIGNATURE_HEADER: compute_signature(token, PUBLIC_URL + target)}).status_code

    def last(client: TestClient) -> Any:
        return client.get("/api/setup/twilio").json()["last_doctor_ping"]

    assert ping(B_TOKEN, B_SID, B_NUMBER) == 200
    assert last(api) is None and last(b_api)["valid"] is True
    assert ping(B_TOKEN, A_SID, A_NUMBER) == 403  # B's token for A's account and number
    assert last(api)["valid"] is False and last(b_api)["valid"] is True
