"""/api/office/registration: admins fill in the business profile that carrier registration submits."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from clinic_reminders.models import Office, RegistrationKind, RegistrationState
from tests.factories import make_clinic, make_registration
from tests.web.helpers import audit_trail, error_fields

PROFILE = {
    "legal_name": "Riverside Family Medicine LLC",
    "business_type": "Limited Liability Corporation",
    "ein": "123456789",
    "street": "100 River Road",
    "city": "Denver",
    "region": "co",
    "postal_code": "80202",
    "website": "https://riverside.example.com",
    "privacy_policy_url": "https://riverside.example.com/privacy",
    "terms_url": "https://riverside.example.com/terms",
    "contact_job_position": "GM",
    "contact_first_name": "Grace",
    "contact_last_name": "Hopper",
    "contact_title": "Office manager",
    "contact_email": "grace@riverside.example.com",
    "contact_phone": "(303) 555-0142",
    "consent_flow": "Patients give their mobile number on the intake form, which says the office will text "
    "appointment reminders and that they can reply STOP at any time.",
    "monthly_volume": 1500,
}


def test_a_new_office_sees_everything_registration_still_needs(admin_client: TestClient) -> None:
    body = admin_client.get("/api/office/registration").json()
    assert body["missing"]["ein"] == "the EIN is missing"
    assert body["registrations"] == [] and body["messaging_service_sid"] is None
    assert len(body["campaign"]["samples"]) == 2


def test_it_saves_a_complete_profile_normalized_and_audited(
    admin_client: TestClient, session: Session, office: Office
) -> None:
    make_clinic(session, office, name="Riverside Clinic", phone="+13035550100")
    session.commit()
    response = admin_client.patch("/api/office/registration", json=PROFILE)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["missing"] == {}
    assert (body["profile"]["ein"], body["profile"]["region"]) == ("12-3456789", "CO")
    assert body["profile"]["contact_phone"] == "+13035550142"
    assert "Riverside Clinic" in body["campaign"]["samples"][0]
    assert "Riverside Clinic appointment reminders" in body["campaign"]["help_message"]
    entry = audit_trail(session, "business_profile")[-1]
    assert "ein" in entry.detail["fields"] and "12-3456789" not in str(entry.detail)


def test_it_reports_every_bad_field_at_once_and_saves_none(admin_client: TestClient) -> None:
    admin_client.patch("/api/office/registration", json={"legal_name": "Riverside LLC"})
    response = admin_client.patch(
        "/api/office/registration",
        json={"legal_name": "Changed", "ein": "12-34", "website": "riverside", "contact_email": "grace", "region": "X"},
    )
    assert response.status_code == 422
    assert set(error_fields(response)) == {"ein", "website", "contact_email", "region"}
    assert admin_client.get("/api/office/registration").json()["profile"]["legal_name"] == "Riverside LLC"


def test_it_shows_where_registrations_stand(admin_client: TestClient, session: Session, office: Office) -> None:
    make_registration(
        session,
        office,
        RegistrationKind.BRAND,
        RegistrationState.FAILED,
        twilio_sid="BN" + "0" * 32,
        twilio_status="FAILED",
        problems=[{"code": 21736, "field": "contact_email", "description": "invalid contact email"}],
    )
    session.commit()
    [brand] = admin_client.get("/api/office/registration").json()["registrations"]
    assert (brand["kind"], brand["state"], brand["twilio_status"]) == ("brand", "failed", "FAILED")
    assert brand["problems"][0]["field"] == "contact_email"


def test_staff_may_not_read_or_change_it(staff_client: TestClient) -> None:
    assert staff_client.get("/api/office/registration").status_code == 403
    assert staff_client.patch("/api/office/registration", json={"legal_name": "X"}).status_code == 403
