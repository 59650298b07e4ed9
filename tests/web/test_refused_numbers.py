"""A number Twilio refused (21211/21217 not a valid number, 21408 region not enabled): shown on the patient's page
with why and when, and tried again by staff (page checkbox or the API's `retry`), audited and re-planned."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders.conversations.delivery import act_on_error
from clinic_reminders.gateways.errors import error_for_code
from clinic_reminders.models import (
    Appointment,
    Channel,
    Clinic,
    MessageStatus,
    Office,
    Patient,
    PatientPhone,
    Reminder,
    ReminderStatus,
    StaffUser,
)
from tests.factories import local_time, make_appointment, make_clinic, make_message, make_patient, make_rule
from tests.fixtures.simulator import CLINIC_NUMBER, SimulatorClient
from tests.integration.dispatch_support import NOW, run_worker, worker_settings
from tests.web.helpers import audit_trail, error_fields
from tests.web.pages import PageClient

GEO = error_for_code(21408).reason  # "the account may not text that country or region (geo permissions)"
# What the dispatcher writes on a reminder whose patient has no number it may use (dispatcher/prepare.py).
NO_NUMBER = "no phone number that can receive sms"


@pytest.fixture
def clinic(session: Session, office: Office) -> Clinic:
    make_rule(session, office)
    return make_clinic(session, office, name="Riverside Family Medicine", timezone="America/New_York")


def refuse(session: Session, patient: Patient, code: int, position: int = 0) -> PatientPhone:
    """As a status callback with Twilio's error `code` leaves the number (`delivery.act_on_error`)."""
    phone = patient.phones[position]
    office = session.get(Office, patient.office_id)
    assert office is not None
    message = make_message(session, office, patient, number=phone.number, status=MessageStatus.FAILED, error_code=code)
    act_on_error(session, message, error_for_code(code), datetime(2030, 6, 2, 15, 0, tzinfo=UTC))
    assert phone.invalid_at is not None
    return phone


def skipped_for_want_of_a_number(session: Session, appointment: Appointment) -> Reminder:
    """The appointment's reminder as the dispatcher leaves it when every number is refused."""
    reminder = session.scalars(select(Reminder).where(Reminder.appointment_id == appointment.id)).one()
    reminder.status, reminder.reason = ReminderStatus.SKIPPED, NO_NUMBER
    return reminder


def reminder_of(session: Session, appointment: Appointment) -> Reminder:
    session.expire_all()
    return session.scalars(select(Reminder).where(Reminder.appointment_id == appointment.id)).one()


def form_of(patient: Patient, **extra: str) -> dict[str, str]:
    """The patient's form as the page shows it, unchanged, plus `extra`."""
    form = {
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "language": patient.language,
        "preferred_channel": patient.preferred_channel,
        "sms_consent": "on",
        "voice_consent": "on",
    }
    for i, phone in enumerate(patient.phones):
        form |= {f"phone_{i}": phone.number, f"kind_{i}": phone.kind}
    return form | extra


def retries(session: Session) -> list[tuple[str, str, int | None, dict[str, object]]]:
    return [(e.actor, e.action, e.entity_id, e.detail) for e in audit_trail(session, "patient") if "retry" in e.action]


def test_the_page_shows_a_refused_number_with_when_why_and_an_unticked_retry_box(
    staff_pages: PageClient, session: Session, office: Office
) -> None:
    patient = make_patient(session, office, "Ana", "Lopez", phone="+12125550142")
    patient.phones.append(PatientPhone(office_id=office.id, number="+12125550143", kind="mobile", position=1))
    session.flush()
    refuse(session, patient, 21408)
    session.commit()
    page = staff_pages.get(f"/patients/{patient.id}").text
    assert "Refused by Twilio on <time datetime=" in page  # the day on the clinic's clock, with the instant
    assert f">Jun 2, 2030</time>: {GEO}. Reminders skip this number." in page
    assert 'aria-describedby="h-phone_0"' in page and 'id="h-phone_1"' not in page  # next to its own box
    assert '<input id="f-retry_0" name="retry_0" type="checkbox" aria-describedby="h-retry_0">' in page  # unticked
    assert "Try this number again" in page and "retry_1" not in page  # only for the refused number
    assert " · invalid" in staff_pages.get("/patients?q=lopez").text


def test_saving_without_the_box_keeps_the_refusal(
    staff_pages: PageClient, session: Session, office: Office, clinic: Clinic
) -> None:
    patient = make_patient(session, office, "Ana", "Lopez", phone="+12125550142")
    appointment = make_appointment(session, clinic, patient, starts_at=local_time(clinic, 3))
    refuse(session, patient, 21211)
    skipped_for_want_of_a_number(session, appointment)
    session.commit()
    staff_pages.get(f"/patients/{patient.id}")
    response = staff_pages.post(f"/patients/{patient.id}", form_of(patient, language="es"))
    assert response.status_code == 303, response.text
    session.expire_all()
    assert patient.language == "es"
    assert patient.phones[0].invalid_at is not None
    assert patient.phones[0].invalid_reason == error_for_code(21211).reason
    assert reminder_of(session, appointment).status == ReminderStatus.SKIPPED
    assert retries(session) == []
    assert "Refused by Twilio on" in staff_pages.get(f"/patients/{patient.id}").text


def test_ticking_the_box_clears_the_refusal_audits_it_and_plans_the_next_reminder_with_the_number(
    staff_pages: PageClient,
    session: Session,
    office: Office,
    clinic: Clinic,
    staff_user: StaffUser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    patient = make_patient(session, office, "Ana", "Lopez", phone="+12125550142")
    appointment = make_appointment(session, clinic, patient, starts_at=local_time(clinic, 3))
    past = make_appointment(session, clinic, patient, starts_at=local_time(clinic, 2))
    phone = refuse(session, patient, 21408)
    skipped_for_want_of_a_number(session, appointment)
    past_reminder = skipped_for_want_of_a_number(session, past)
    past.starts_at = local_time(clinic, -3)  # an appointment that has passed since
    session.commit()
    caplog.set_level(logging.DEBUG)
    staff_pages.get(f"/patients/{patient.id}")
    response = staff_pages.post(f"/patients/{patient.id}", form_of(patient, retry_0="on"))
    assert response.status_code == 303, response.text
    session.expire_all()
    assert (phone.invalid_at, phone.invalid_reason) == (None, None)
    assert [p.id for p in patient.phones] == [phone.id]  # the same row: its history stays
    assert retries(session) == [(f"user:{staff_user.id}", "retry_number", patient.id, {"phone_id": phone.id})]
    assert [e.action for e in audit_trail(session, "patient") if e.action == "update"] == []  # nothing else changed
    reminder = reminder_of(session, appointment)
    assert (reminder.status, reminder.reason) == (ReminderStatus.PLANNED, None)
    assert datetime.now(UTC) < reminder.due_at < appointment.starts_at
    assert patient.usable_phone(Channel.SMS) == phone  # what the dispatcher will text
    session.refresh(past_reminder)
    assert past_reminder.status == ReminderStatus.SKIPPED  # a past appointment is left alone
    page = staff_pages.get(f"/patients/{patient.id}").text
    assert "Refused by Twilio" not in page and "retry_0" not in page
    assert " · invalid" not in staff_pages.get("/patients?q=lopez").text
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))
    assert "2125550142" not in logged and "Lopez" not in logged


def test_the_box_on_a_number_typed_over_the_refused_one_is_refused_next_to_it(
    staff_pages: PageClient, session: Session, office: Office
) -> None:
    patient = make_patient(session, office, "Ana", "Lopez", phone="+12125550142")
    refuse(session, patient, 21408)
    session.commit()
    staff_pages.get(f"/patients/{patient.id}")
    response = staff_pages.post(f"/patients/{patient.id}", form_of(patient, phone_0="+12125550199", retry_0="on"))
    assert response.status_code == 422
    assert 'id="e-phone_0"' in response.text and "only a number Twilio refused can be tried again" in response.text
    session.expire_all()
    assert [(p.number, p.invalid_at is not None) for p in patient.phones] == [("+12125550142", True)]
    assert retries(session) == []


def test_the_form_needs_its_csrf_token(staff_pages: PageClient, session: Session, office: Office) -> None:
    patient = make_patient(session, office, "Ana", "Lopez", phone="+12125550142")
    refuse(session, patient, 21408)
    session.commit()
    staff_pages.get(f"/patients/{patient.id}")
    staff_pages.token = "forged"
    assert staff_pages.post(f"/patients/{patient.id}", form_of(patient, retry_0="on")).status_code == 403
    session.expire_all()
    assert patient.phones[0].invalid_at is not None


def test_the_api_retries_a_refused_number_and_plans_its_reminders_again(
    staff_client: TestClient, session: Session, office: Office, clinic: Clinic, staff_user: StaffUser
) -> None:
    patient = make_patient(session, office, phone="+12125550142")
    patient.phones.append(PatientPhone(office_id=office.id, number="+12125550143", kind="mobile", position=1))
    session.flush()
    appointment = make_appointment(session, clinic, patient, starts_at=local_time(clinic, 3))
    first, second = refuse(session, patient, 21211, 0), refuse(session, patient, 21408, 1)
    skipped_for_want_of_a_number(session, appointment)
    session.commit()
    read = staff_client.get(f"/api/patients/{patient.id}").json()
    assert [p["invalid_reason"] for p in read["phones"]] == [error_for_code(21211).reason, GEO]
    phones = [{"number": "+12125550142"}, {"number": "+12125550143", "retry": True}]
    response = staff_client.patch(f"/api/patients/{patient.id}", json={"phones": phones})
    assert response.status_code == 200, response.text
    assert [(p["invalid_at"] is None, p["invalid_reason"]) for p in response.json()["phones"]] == [
        (False, error_for_code(21211).reason),  # not asked: still refused
        (True, None),
    ]
    assert retries(session) == [(f"user:{staff_user.id}", "retry_number", patient.id, {"phone_id": second.id})]
    reminder = reminder_of(session, appointment)
    assert reminder.status == ReminderStatus.PLANNED
    session.refresh(patient)
    assert patient.usable_phone(Channel.SMS) == second and first.invalid_at is not None


NOT_HERS = "not one of this patient's numbers yet; only a number Twilio refused can be tried again"


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("+12125550142", "Twilio has not refused this number; there is nothing to try again"),
        ("+12125550199", NOT_HERS),
        ("+12125550177", NOT_HERS),
    ],
    ids=["not-refused", "new-number", "another-patients-refused-number"],
)
def test_the_api_refuses_retry_for_a_number_not_refused_or_not_the_patients(
    admin_client: TestClient, session: Session, office: Office, number: str, message: str
) -> None:
    patient = make_patient(session, office, "Rosa", "Garcia", phone="+12125550142")
    other = make_patient(session, office, "Oscar", "Other", phone="+12125550177")
    refuse(session, other, 21408)
    session.commit()
    kept = [] if number == "+12125550142" else [{"number": "+12125550142"}]
    phones = [*kept, {"number": number, "retry": True}]
    response = admin_client.patch(f"/api/patients/{patient.id}", json={"first_name": "Rose", "phones": phones})
    assert error_fields(response) == {f"phones.{len(kept)}.retry": message}
    assert number not in response.text
    session.expire_all()
    assert (patient.first_name, [p.number for p in patient.phones]) == ("Rosa", ["+12125550142"])
    assert other.phones[0].invalid_at is not None
    assert [e for e in audit_trail(session, "patient") if e.entity_id == patient.id] == []


def test_retry_is_for_changes_only_and_documented(admin_client: TestClient, session: Session) -> None:
    new = {"first_name": "Rosa", "last_name": "Garcia", "phones": [{"number": "+12125550142", "retry": True}]}
    assert "phones.0.retry" in error_fields(admin_client.post("/api/patients", json=new))
    spec = admin_client.get("/openapi.json").json()
    change = spec["components"]["schemas"]["PhoneChange"]["properties"]["retry"]
    assert "Twilio's refusal" in change["description"] and "422" in change["description"]
    assert "retry: true" in spec["paths"]["/api/patients/{patient_id}"]["patch"]["description"]
    assert "retry" in spec["components"]["schemas"]["PhoneRead"]["properties"]["invalid_at"]["description"]


def test_the_worker_texts_a_refused_number_again_once_staff_retry_it(
    admin_client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    simulator: SimulatorClient,
    office: Office,
    clinic: Clinic,
) -> None:
    patient = make_patient(session, office, phone="+12125550142")
    # 08:00 in New York the day after the worker's "now": the rule's text is due at 10:00 the day before.
    appointment = make_appointment(session, clinic, patient, starts_at=NOW + timedelta(hours=20))
    refuse(session, patient, 21408)
    session.commit()
    settings = worker_settings(database_url, simulator)

    run_worker(settings, session_factory)
    assert reminder_of(session, appointment).reason == NO_NUMBER
    assert simulator.messages(to="+12125550142") == []

    phones = [{"number": "+12125550142", "retry": True}]
    assert admin_client.patch(f"/api/patients/{patient.id}", json={"phones": phones}).status_code == 200
    run_worker(settings, session_factory)
    assert reminder_of(session, appointment).status == ReminderStatus.SENT
    [sent] = simulator.messages(to="+12125550142")
    assert sent["from"] == CLINIC_NUMBER and "Riverside Family Medicine" in sent["body"]
