"""/api/patients: phones in E.164, languages, search, consent and opt-out history, delete only when unused."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_reminders.models import ConsentEvent, Office, Patient, PatientPhone, StaffUser
from tests.factories import make_appointment, make_clinic, make_patient
from tests.web.helpers import audit_trail, count, error_fields

NEW_PATIENT = {
    "first_name": "Rosa",
    "last_name": "Garcia",
    "date_of_birth": "1980-04-02",
    "language": "es",
    "preferred_channel": "sms",
    "phones": [{"number": "(212) 555-0142", "kind": "mobile"}, {"number": "+1 312 555 0147"}],
}


def test_it_creates_a_patient_with_normalized_phones(admin_client: TestClient, session: Session) -> None:
    response = admin_client.post("/api/patients", json=NEW_PATIENT)
    assert response.status_code == 201, response.text
    patient = response.json()
    assert [(p["number"], p["kind"]) for p in patient["phones"]] == [
        ("+12125550142", "mobile"),
        ("+13125550147", "unknown"),  # US numbers do not say whether they are mobile
    ]
    assert (patient["language"], patient["date_of_birth"], patient["sms_opted_out_at"]) == ("es", "1980-04-02", None)
    assert admin_client.get(f"/api/patients/{patient['id']}").json() == patient
    [entry] = audit_trail(session, "patient")
    assert entry.detail == {}  # ids only: no names, numbers or dates in the audit log


def test_it_rejects_a_bad_phone_number_without_repeating_it(admin_client: TestClient, session: Session) -> None:
    body = {**NEW_PATIENT, "phones": [{"number": "+1 212 555 0142"}, {"number": "12345"}]}
    response = admin_client.post("/api/patients", json=body)
    assert list(error_fields(response)) == ["phones.1.number"]
    assert "12345" not in response.text
    assert count(session, Patient) == 0
    assert count(session, PatientPhone) == 0


def test_it_rejects_the_same_number_twice(admin_client: TestClient) -> None:
    body = {**NEW_PATIENT, "phones": [{"number": "+12125550142"}, {"number": "(212) 555-0142"}]}
    assert "given twice" in error_fields(admin_client.post("/api/patients", json=body))["phones"]


def test_it_rejects_an_unknown_language(admin_client: TestClient, session: Session) -> None:
    response = admin_client.post("/api/patients", json={**NEW_PATIENT, "language": "xx"})
    assert "language" in error_fields(response)
    assert count(session, Patient) == 0


def test_it_accepts_a_language_in_capitals(admin_client: TestClient) -> None:
    assert admin_client.post("/api/patients", json={**NEW_PATIENT, "language": "ES"}).json()["language"] == "es"


def test_it_rejects_a_birth_date_in_the_future_and_a_bad_channel(admin_client: TestClient) -> None:
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    response = admin_client.post(
        "/api/patients", json={**NEW_PATIENT, "date_of_birth": tomorrow, "preferred_channel": "fax"}
    )
    fields = error_fields(response)
    assert set(fields) == {"date_of_birth", "preferred_channel"}
    assert tomorrow not in response.text


def test_it_searches_by_name_and_phone(admin_client: TestClient, session: Session, office: Office) -> None:
    make_patient(session, office, "Rosa", "Garcia", phone="+12125550142")
    make_patient(session, office, "Rosalind", "Franklin", phone="+12125550143")
    make_patient(session, office, "John", "Garcia-Smith", phone=None, language="es")
    session.commit()

    def names(**params: str) -> list[str]:
        page = admin_client.get("/api/patients", params=params).json()
        return [f"{p['first_name']} {p['last_name']}" for p in page["items"]]

    assert names(q="garcia") == ["Rosa Garcia", "John Garcia-Smith"]
    assert names(q="ros gar") == ["Rosa Garcia"]
    assert names(q="(212) 555-0142") == ["Rosa Garcia"]
    assert names(q="0143") == ["Rosalind Franklin"]
    assert names(q="50%") == []
    assert names(language="es") == ["John Garcia-Smith"]
    assert "language" in error_fields(admin_client.get("/api/patients", params={"language": "klingon"}))


def test_an_opt_out_is_recorded_with_its_source(
    admin_client: TestClient, session: Session, office: Office, admin_user: StaffUser
) -> None:
    patient = make_patient(session, office)
    session.commit()
    response = admin_client.patch(f"/api/patients/{patient.id}", json={"sms_opted_out": True})
    body = response.json()
    assert body["sms_opted_out_at"] is not None
    assert body["sms_opt_out_source"] == f"staff:{admin_user.id}"
    assert body["voice_opted_out_at"] is None

    admin_client.patch(f"/api/patients/{patient.id}", json={"sms_opted_out": False, "voice_consent": False})
    session.expire_all()
    events = session.scalars(select(ConsentEvent).order_by(ConsentEvent.id)).all()
    assert [(e.channel, e.action, e.source) for e in events] == [
        ("sms", "opt_out", f"staff:{admin_user.id}"),
        ("sms", "opt_in", f"staff:{admin_user.id}"),
        ("voice", "withdraw", f"staff:{admin_user.id}"),
    ]
    session.refresh(patient)
    assert (patient.sms_opted_out_at, patient.sms_opt_out_source, patient.voice_consent) == (None, None, False)


def test_an_opt_out_at_creation_is_recorded(admin_client: TestClient, session: Session) -> None:
    response = admin_client.post("/api/patients", json={**NEW_PATIENT, "voice_opted_out": True})
    assert response.json()["voice_opted_out_at"] is not None
    events = session.scalars(select(ConsentEvent).order_by(ConsentEvent.id))
    assert [(e.channel, e.action) for e in events] == [("sms", "consent"), ("voice", "consent"), ("voice", "opt_out")]


def test_phones_sent_replace_the_list_and_keep_known_numbers(
    admin_client: TestClient, session: Session, office: Office
) -> None:
    patient = make_patient(session, office, phone="+12125550142")
    kept_id = patient.phones[0].id
    session.commit()
    response = admin_client.patch(
        f"/api/patients/{patient.id}",
        json={"phones": [{"number": "+13125550147", "kind": "landline"}, {"number": "+12125550142"}]},
    )
    assert [(p["number"], p["kind"]) for p in response.json()["phones"]] == [
        ("+13125550147", "landline"),
        ("+12125550142", "mobile"),
    ]
    session.expire_all()
    assert kept_id in {p.id for p in session.scalars(select(PatientPhone))}
    assert audit_trail(session, "patient")[-1].detail == {"fields": ["phones"]}


def test_a_failed_change_changes_nothing(admin_client: TestClient, session: Session, office: Office) -> None:
    patient = make_patient(session, office, "Rosa", "Garcia", phone="+12125550142")
    session.commit()
    response = admin_client.patch(
        f"/api/patients/{patient.id}", json={"first_name": "Rose", "phones": [{"number": "not a number"}]}
    )
    assert "phones.0.number" in error_fields(response)
    response = admin_client.patch(f"/api/patients/{patient.id}", json={"first_name": "Rose", "last_name": None})
    assert "last_name" in error_fields(response)
    session.refresh(patient)
    assert (patient.first_name, [p.number for p in patient.phones]) == ("Rosa", ["+12125550142"])
    assert audit_trail(session, "patient") == []


def test_an_external_id_is_unique_in_the_office(admin_client: TestClient, session: Session, office: Office) -> None:
    make_patient(session, office, external_id="MRN-1")
    session.commit()
    response = admin_client.post("/api/patients", json={**NEW_PATIENT, "external_id": "MRN-1"})
    assert response.status_code == 409
    assert response.json()["detail"].startswith("external_id:")
    assert count(session, Patient) == 1


def test_it_deletes_a_patient_without_appointments(admin_client: TestClient, session: Session, office: Office) -> None:
    patient_id = make_patient(session, office).id
    session.commit()
    assert admin_client.delete(f"/api/patients/{patient_id}").status_code == 204
    assert count(session, Patient) == 0
    assert count(session, PatientPhone) == 0
    assert admin_client.get(f"/api/patients/{patient_id}").status_code == 404
    assert [(e.action, e.entity_id) for e in audit_trail(session, "patient")] == [("delete", patient_id)]


def test_it_keeps_a_patient_with_appointments(admin_client: TestClient, session: Session, office: Office) -> None:
    patient = make_patient(session, office)
    make_appointment(session, make_clinic(session, office), patient)
    session.commit()
    response = admin_client.delete(f"/api/patients/{patient.id}")
    assert response.status_code == 409
    assert "has appointments" in response.json()["detail"]
    assert count(session, Patient) == 1


def test_it_hides_another_offices_patients(
    admin_client: TestClient, session: Session, office: Office, other_office: Office
) -> None:
    theirs = make_patient(session, other_office, "Rosa", "Garcia", phone="+12125550142")
    session.commit()
    assert admin_client.get("/api/patients", params={"q": "Rosa"}).json()["total"] == 0
    assert admin_client.get("/api/patients", params={"q": "+12125550142"}).json()["total"] == 0
    assert admin_client.get(f"/api/patients/{theirs.id}").status_code == 404
    assert admin_client.patch(f"/api/patients/{theirs.id}", json={"sms_opted_out": True}).status_code == 404
    assert admin_client.delete(f"/api/patients/{theirs.id}").status_code == 404
    assert count(session, Patient) == 1
