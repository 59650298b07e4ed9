"""Clinics, providers and patients edited through their pages (validated as the JSON API validates them)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_reminders.models import Clinic, ConsentEvent, Office, Patient, PatientPhone, Provider, StaffUser
from tests.factories import make_clinic, make_patient
from tests.web.pages import PageClient

CLINIC = {"name": "Riverside Family Medicine", "phone": "(303) 555-0100", "timezone": "America/Denver", "address": ""}


def test_a_clinic_is_added_with_the_caller_id_hint_and_edited(admin_pages: PageClient, session: Session) -> None:
    form = admin_pages.get("/clinics/new").text
    assert "must be a verified caller ID at Twilio" in form and 'aria-describedby="h-phone"' in form
    response = admin_pages.post("/clinics/new", {**CLINIC, "twilio_number": ""})
    assert (response.status_code, response.headers["location"]) == (303, "/clinics")
    clinic = session.scalars(select(Clinic)).one()
    assert (clinic.phone, clinic.timezone, clinic.twilio_number) == ("+13035550100", "America/Denver", None)
    admin_pages.get(f"/clinics/{clinic.id}")
    edited = admin_pages.post(f"/clinics/{clinic.id}", {**CLINIC, "name": "Riverside North", "twilio_number": ""})
    assert edited.status_code == 303
    session.expire_all()
    assert (clinic.name, clinic.active) == ("Riverside North", False)  # the Active box was left unticked


def test_a_refused_clinic_names_its_fields(admin_pages: PageClient, session: Session) -> None:
    admin_pages.get("/clinics/new")
    response = admin_pages.post("/clinics/new", {**CLINIC, "phone": "123", "timezone": "Mars/Olympus"})
    assert response.status_code == 422
    assert 'id="e-phone"' in response.text and 'id="e-timezone"' in response.text
    assert "unknown time zone" in response.text
    assert session.scalars(select(Clinic)).first() is None


def test_a_provider_is_added_to_a_clinic(admin_pages: PageClient, session: Session, office: Office) -> None:
    clinic = make_clinic(session, office)
    session.commit()
    admin_pages.get("/providers/new")
    response = admin_pages.post("/providers/new", {"title": "NP", "name": "Julia Ortiz", "clinic_id": str(clinic.id)})
    assert response.status_code == 303
    provider = session.scalars(select(Provider)).one()
    assert (provider.display_name, provider.clinic_id) == ("NP Julia Ortiz", clinic.id)
    assert "NP Julia Ortiz" in admin_pages.get("/clinics").text
    refused = admin_pages.post("/providers/new", {"title": "", "name": "", "clinic_id": "99999"})
    assert refused.status_code == 422


def test_staff_edit_a_patients_phones_and_opt_outs_with_history(
    staff_pages: PageClient, session: Session, office: Office, staff_user: StaffUser
) -> None:
    patient = make_patient(session, office, "Ana", "Lopez", phone="+12125550142")
    session.commit()
    page = staff_pages.get(f"/patients/{patient.id}").text
    assert 'value="+12125550142"' in page and "No change recorded." in page
    form = {
        "first_name": "Ana",
        "last_name": "Lopez",
        "language": "es",
        "preferred_channel": "sms",
        "phone_0": "(212) 555-0143",
        "kind_0": "mobile",
        "phone_1": "+12125550142",
        "kind_1": "landline",
        "sms_consent": "on",
        "voice_consent": "on",
        "sms_opted_out": "on",
    }
    response = staff_pages.post(f"/patients/{patient.id}", form)
    assert response.status_code == 303, response.text
    session.expire_all()
    assert [(p.number, p.kind) for p in patient.phones] == [("+12125550143", "mobile"), ("+12125550142", "landline")]
    assert patient.language == "es" and patient.sms_opted_out_at is not None
    assert patient.sms_opt_out_source == f"staff:{staff_user.id}"
    events = session.scalars(select(ConsentEvent).where(ConsentEvent.patient_id == patient.id)).all()
    assert [(e.channel, e.action) for e in events] == [("sms", "opt_out")]
    page = staff_pages.get(f"/patients/{patient.id}").text
    assert "SMS opt out" in page and f"staff:{staff_user.id}" in page
    assert "Opted out" in staff_pages.get("/patients?q=lopez").text


def test_a_bad_phone_is_named_in_its_box(staff_pages: PageClient, session: Session, office: Office) -> None:
    patient = make_patient(session, office, "Ana", "Lopez")
    session.commit()
    staff_pages.get(f"/patients/{patient.id}")
    form = {"first_name": "Ana", "last_name": "Lopez", "language": "en", "preferred_channel": "sms"}
    response = staff_pages.post(f"/patients/{patient.id}", {**form, "phone_0": "+12125550142", "phone_1": "55"})
    assert response.status_code == 422
    assert 'id="e-phone_1"' in response.text


def test_a_patient_with_more_numbers_than_boxes_keeps_them_all_when_saved(
    staff_pages: PageClient, session: Session, office: Office
) -> None:
    numbers = [f"+1212555014{i}" for i in range(5)]  # an import or the API may give up to ten
    patient = make_patient(session, office, "Ana", "Lopez", phone=None)
    patient.phones = [
        PatientPhone(office_id=office.id, number=n, kind="mobile", position=i) for i, n in enumerate(numbers)
    ]
    session.commit()
    page = staff_pages.get(f"/patients/{patient.id}").text
    assert all(f'value="{n}"' in page for n in numbers)
    assert 'name="phone_5"' in page and 'name="phone_6"' not in page  # one empty box to add a number
    form = {"first_name": "Ana", "last_name": "Lopez", "language": "en", "preferred_channel": "sms"}
    boxes = {f"phone_{i}": n for i, n in enumerate(numbers)} | {"phone_5": "+12125550149"}
    assert staff_pages.post(f"/patients/{patient.id}", {**form, **boxes}).status_code == 303
    session.expire_all()
    assert [p.number for p in patient.phones] == [*numbers, "+12125550149"]


def test_staff_add_a_patient_with_phones_language_and_consent(
    staff_pages: PageClient, session: Session, staff_user: StaffUser
) -> None:
    listing = staff_pages.get("/patients").text
    assert 'href="/patients/new">Add patient</a>' in listing
    form = staff_pages.get("/patients/new")
    assert form.status_code == 200 and "Add a patient" in form.text and "Opted out" not in form.text
    new = {
        "first_name": "Tomás",
        "last_name": "Reyes",
        "date_of_birth": "1980-02-03",
        "language": "es",
        "preferred_channel": "sms",
        "phone_0": "(312) 555-0177",
        "kind_0": "mobile",
        "phone_1": "(312) 555-0178",
        "kind_1": "landline",
        "sms_consent": "on",
    }
    refused = staff_pages.post("/patients/new", {**new, "phone_1": "55", "first_name": ""})
    assert refused.status_code == 422 and 'id="e-phone_1"' in refused.text and 'id="e-first_name"' in refused.text
    assert session.scalars(select(Patient)).first() is None
    response = staff_pages.post("/patients/new", new)
    assert response.status_code == 303, response.text
    patient = session.scalars(select(Patient)).one()
    assert response.headers["location"] == f"/patients/{patient.id}"
    assert [(p.number, p.kind) for p in patient.phones] == [("+13125550177", "mobile"), ("+13125550178", "landline")]
    assert (patient.language, patient.sms_consent, patient.voice_consent) == ("es", True, False)
    events = session.scalars(select(ConsentEvent).where(ConsentEvent.patient_id == patient.id)).all()
    assert [(e.channel, e.action, e.source) for e in events] == [("sms", "consent", f"staff:{staff_user.id}")]
    page = staff_pages.get(response.headers["location"]).text
    assert "Patient added." in page and "New appointment" in page
