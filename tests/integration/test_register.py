"""`reminders setup twilio --register`'s flow against the in-memory registration fake (numbers from the
simulator): refused before any request when the profile is incomplete, A2P 10DLC step by step with the fees
confirmed, nothing created twice, a rejected brand resubmitted once the profile is corrected, toll-free
verification created and edited."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders.doctor.register import Registrar
from clinic_reminders.models import BusinessProfile, Office, Registration, RegistrationKind, RegistrationState
from clinic_reminders.registration.fees import Fee
from clinic_reminders.simulator import NumberConfig
from tests.factories import make_business_profile
from tests.fixtures.registration_fake import State
from tests.fixtures.simulator import SimulatorClient
from tests.integration.doctor_support import healthy_config, make_office_with_clinics, settings_for

TOLL_FREE = "+18335550123"


@pytest.fixture
def office(session: Session, fake_registration: State) -> Office:
    office = make_office_with_clinics(session)
    office.twilio_messaging_service_sid = fake_registration.with_service().sid
    session.commit()
    return office


def registrar(
    sim: SimulatorClient, database_url: str, sessions: sessionmaker[Session], confirm: bool, **settings: Any
) -> tuple[Registrar, list[list[Fee]]]:
    asked: list[list[Fee]] = []

    def answer(fees: list[Fee]) -> bool:
        asked.append(fees)
        return confirm

    return Registrar(settings_for(sim, database_url, **settings), sessions, sim.gateway(), confirm=answer), asked


def by_id(steps: list[Any]) -> dict[str, Any]:
    return {s.id: s for s in steps}


def rows(session: Session) -> dict[str, Registration]:
    session.expire_all()
    return {r.kind: r for r in session.scalars(select(Registration))}


def test_it_refuses_an_incomplete_profile_naming_every_field_before_any_request(
    simulator: SimulatorClient,
    database_url: str,
    session_factory: sessionmaker[Session],
    session: Session,
    office: Office,
    fake_registration: State,
) -> None:
    make_business_profile(session, office, ein="", terms_url="", contact_job_position="Office manager")
    session.commit()
    fake_registration.calls.clear()
    steps = registrar(simulator, database_url, session_factory, True)[0].run()
    assert [(s.id, s.status) for s in steps] == [("registration", "failed")]
    assert "nothing was sent to Twilio" in steps[0].message
    assert set(steps[0].data["problems"]) == {"ein", "terms_url", "contact_job_position"}
    assert "EIN: the EIN is missing" in steps[0].message and "General Counsel" in steps[0].message
    assert sum(fake_registration.calls.values()) == 0


def test_it_registers_a_local_number_step_by_step_and_never_creates_anything_twice(
    simulator: SimulatorClient,
    database_url: str,
    session_factory: sessionmaker[Session],
    session: Session,
    office: Office,
    fake_registration: State,
) -> None:
    make_business_profile(session, office)
    session.commit()
    unconfirmed, asked = registrar(simulator, database_url, session_factory, False)
    steps = by_id(unconfirmed.run())
    assert steps["customer_profile"].status == "done" and steps["trust_product"].status == "done"
    assert steps["brand"].status == "action_needed" and "campaign" not in steps
    assert "$4" in steps["brand"].message and "A2P 10DLC Campaign Vetting FAQ" in steps["brand"].message
    assert [f.amount for f in asked[0]][:1] == ["$4"] and any(f.amount == "$15" for f in asked[0])
    assert fake_registration.calls["create_brand"] == 0  # nothing that costs money without a yes

    business, representative = (fake_registration.end_users[s][1] for s in list(fake_registration.end_users)[:2])
    assert business["business_registration_number"] == "123456789" and business["business_industry"] == "HEALTHCARE"
    assert representative["job_position"] == "GM" and representative["email"] == "grace@riverside.example.com"
    found = rows(session)
    profile_row = found[RegistrationKind.CUSTOMER_PROFILE]
    assert profile_row.state == RegistrationState.PENDING and profile_row.twilio_status == "pending-review"
    assert {"business_information", "authorized_representative_1", "address", "address_document"} <= set(
        profile_row.parts
    )
    assigned = {a.object_sid for a in fake_registration.assignments[profile_row.twilio_sid or ""]}
    assert profile_row.parts["primary_profile"] in assigned and profile_row.parts["address_document"] in assigned

    confirmed, _ = registrar(simulator, database_url, session_factory, True)
    steps = by_id(confirmed.run())
    assert steps["customer_profile"].status == "unchanged" and steps["brand"].status == "done"
    assert steps["campaign"].status == "unchanged" and "waits for the brand" in steps["campaign"].message
    brand_sid = rows(session)[RegistrationKind.BRAND].twilio_sid
    assert brand_sid in fake_registration.brands

    fake_registration.approve(brand_sid or "")
    steps = by_id(confirmed.run())
    assert steps["brand"].status == "unchanged" and steps["campaign"].status == "done"
    request = fake_registration.campaign_requests[0]
    assert request["use_case"] == "ACCOUNT_NOTIFICATION" and request["terms_and_conditions_url"].endswith("/terms")
    assert all("STOP" in sample for sample in request["message_samples"])
    assert rows(session)[RegistrationKind.CAMPAIGN].state == RegistrationState.PENDING

    steps = by_id(confirmed.run())
    assert {s.status for s in steps.values()} == {"unchanged"}
    for operation in ("create_customer_profiles", "create_trust_products", "create_brand", "create_campaign"):
        assert fake_registration.calls[operation] == 1, operation
    assert fake_registration.calls["create_end_user"] == 3  # business, representative, messaging profile


def test_it_resubmits_a_rejected_brand_once_the_profile_is_corrected(
    simulator: SimulatorClient,
    database_url: str,
    session_factory: sessionmaker[Session],
    session: Session,
    office: Office,
    fake_registration: State,
) -> None:
    profile = make_business_profile(session, office)
    session.commit()
    confirmed, _ = registrar(simulator, database_url, session_factory, True)
    confirmed.run()
    found = rows(session)
    for kind in (RegistrationKind.CUSTOMER_PROFILE, RegistrationKind.TRUST_PRODUCT):
        fake_registration.approve(found[kind].twilio_sid or "")
    brand_sid = found[RegistrationKind.BRAND].twilio_sid or ""
    fake_registration.reject(brand_sid, [{"code": 30799, "description": "could not verify", "fields": []}])

    steps = by_id(confirmed.run())
    assert steps["brand"].status == "failed"
    assert "Twilio error 30799" in steps["brand"].message and "(field: ein)" in steps["brand"].message
    assert rows(session)[RegistrationKind.BRAND].problems[0]["field"] == "ein"
    assert fake_registration.calls["resubmit_brand"] == 0  # the same data again would fail again

    session.get(BusinessProfile, profile.id).ein = "98-7654321"  # type: ignore[union-attr]
    session.commit()
    steps = by_id(confirmed.run())
    assert steps["brand"].status == "done" and "resubmitted" in steps["brand"].message
    assert fake_registration.calls["resubmit_brand"] == 1 and fake_registration.calls["create_brand"] == 1
    assert fake_registration.calls["submit_customer_profiles"] == 2  # the corrected profile went to review again
    business = next(attrs for kind, attrs in fake_registration.end_users.values() if "business_name" in attrs)
    assert business["business_registration_number"] == "987654321"  # the end user updated, not a new one
    assert len(fake_registration.brands) == 1


def test_it_verifies_a_toll_free_number_and_edits_the_rejected_verification(
    simulator: SimulatorClient,
    database_url: str,
    session_factory: sessionmaker[Session],
    session: Session,
    office: Office,
    fake_registration: State,
) -> None:
    simulator.reset(healthy_config(numbers=[NumberConfig(TOLL_FREE)]))
    profile = make_business_profile(session, office, opt_in_url="")
    session.commit()
    run, asked = registrar(simulator, database_url, session_factory, False, twilio_phone_number=TOLL_FREE)
    refused = run.run()
    assert refused[0].status == "failed" and set(refused[0].data["problems"]) == {"opt_in_url"}

    session.get(BusinessProfile, profile.id).opt_in_url = "https://riverside.example.com/intake.png"  # type: ignore[union-attr]
    session.commit()
    steps = run.run()
    assert [(s.id, s.status) for s in steps] == [("tollfree", "done")], steps
    assert asked == []  # a toll-free verification is not charged as a registration step
    sent = fake_registration.tollfree_requests[0]
    assert sent["business_registration_number"] == "123456789" and sent["opt_in_type"] == "PAPER_FORM"
    assert sent["use_case_categories"] == ["ACCOUNT_NOTIFICATIONS", "CUSTOMER_CARE"]
    row = session.scalars(select(Registration).where(Registration.kind == RegistrationKind.TOLLFREE)).one()
    assert row.subject == TOLL_FREE and row.state == RegistrationState.PENDING

    fake_registration.reject(row.twilio_sid or "", [{"code": 30513, "description": "opt-in unclear"}])
    assert run.run()[0].status == "failed"
    session.get(BusinessProfile, profile.id).consent_flow += " Patients tick a box that says they agree to texts."  # type: ignore[union-attr]
    session.commit()
    steps = run.run()
    assert steps[0].status == "done" and "resubmitted" in steps[0].message
    assert fake_registration.calls["update_tollfree_verification"] == 1
    assert fake_registration.calls["create_tollfree_verification"] == 1
