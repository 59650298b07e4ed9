"""The carrier registration page: the business profile form, where registrations stand, what is registered."""

from __future__ import annotations

from sqlalchemy.orm import Session

from clinic_reminders.models import BusinessProfile, Office, RegistrationKind, RegistrationState
from tests.factories import make_clinic, make_registration
from tests.web.pages import PageClient
from tests.web.test_api_registration import PROFILE


def test_it_lists_what_is_missing_and_shows_the_texts_to_be_registered(
    admin_pages: PageClient, session: Session, office: Office
) -> None:
    make_clinic(session, office, name="Riverside Clinic", phone="+13035550100")
    session.commit()
    page = admin_pages.get("/config/registration").text
    assert "Registration still needs" in page and "the EIN is missing" in page
    assert "Riverside Clinic appointment reminders. Call (303) 555-0100" in page  # the HELP answer
    assert "Nothing submitted yet" in page


def test_it_saves_the_profile_and_reports_every_bad_field_at_once(
    admin_pages: PageClient, session: Session, office: Office
) -> None:
    admin_pages.get("/config/registration")
    form = {k: str(v) for k, v in PROFILE.items()}
    refused = admin_pages.post("/config/registration", {**form, "ein": "12", "contact_email": "nope"})
    assert refused.status_code == 422
    assert "9-digit EIN" in refused.text and "not an email address" in refused.text
    assert 'value="nope"' in refused.text  # what was typed stays in the form
    assert session.query(BusinessProfile).filter_by(office_id=office.id, legal_name=PROFILE["legal_name"]).count() == 0
    saved = admin_pages.post("/config/registration", form)
    assert (saved.status_code, saved.headers["location"]) == (303, "/config/registration")
    page = admin_pages.get("/config/registration").text
    assert "Registration still needs" not in page and 'value="12-3456789"' in page


def test_it_shows_a_rejected_brand_with_the_field_at_fault(
    admin_pages: PageClient, session: Session, office: Office
) -> None:
    make_registration(
        session,
        office,
        RegistrationKind.BRAND,
        RegistrationState.FAILED,
        twilio_status="FAILED",
        problems=[{"code": 21736, "field": "contact_email", "description": "the contact email is not valid"}],
    )
    session.commit()
    page = admin_pages.get("/config/registration").text
    assert "A2P 10DLC brand" in page and "failed" in page
    assert "Twilio error 21736: the contact email is not valid (field: contact&#39;s email)" in page
