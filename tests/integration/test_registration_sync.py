"""`registration.sync.refresh` follows Twilio: it records each change with its problems, submits the campaign by
itself once the brand is approved, lifts a carrier block once the registration is approved again, and keeps the
last known state of what Twilio fails to answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders.models import Registration, RegistrationKind, RegistrationState
from clinic_reminders.registration.sync import refresh
from tests.factories import make_business_profile, make_registration
from tests.fixtures.registration_fake import State
from tests.fixtures.simulator import SimulatorClient
from tests.integration.doctor_support import NUMBER, make_office_with_clinics, settings_for

K, S = RegistrationKind, RegistrationState


def states(session: Session) -> dict[tuple[str, str], str]:
    session.expire_all()
    return {(r.kind, r.subject): r.state for r in session.scalars(select(Registration))}


def test_it_follows_the_brand_submits_the_campaign_and_lifts_the_carrier_block(
    simulator: SimulatorClient,
    database_url: str,
    session_factory: sessionmaker[Session],
    session: Session,
    fake_registration: State,
) -> None:
    office = make_office_with_clinics(session)
    service = fake_registration.with_service()
    office.twilio_messaging_service_sid = service.sid
    make_business_profile(session, office)
    brand = fake_registration.with_brand("IN_REVIEW")
    earlier = datetime.now(UTC) - timedelta(days=3)
    make_registration(session, office, K.BRAND, S.PENDING, twilio_sid=brand.sid, twilio_status="IN_REVIEW")
    make_registration(
        session, office, K.CARRIER_BLOCK, S.FAILED, subject=NUMBER, problems=[{"code": 30034}], state_changed_at=earlier
    )
    session.commit()
    settings = settings_for(simulator, database_url)

    def run() -> list[tuple[str, str, str]]:
        changes = refresh(settings, session_factory, simulator.gateway(), office.id)
        return [(c.kind, c.old_state, c.new_state) for c in changes]

    assert run() == []  # still in review: nothing changed, nothing submitted
    assert fake_registration.calls["create_campaign"] == 0

    fake_registration.reject(brand.sid, [{"code": 21736, "description": "The Brand contact email is invalid."}])
    assert run() == [(K.BRAND, S.PENDING, S.FAILED)]
    row = session.scalars(select(Registration).where(Registration.kind == K.BRAND)).one()
    assert row.problems == [
        {"code": 21736, "field": "contact_email", "description": "the brand's contact email is invalid"}
    ]

    fake_registration.approve(brand.sid)
    assert run() == [(K.BRAND, S.FAILED, S.APPROVED), (K.CAMPAIGN, S.DRAFT, S.PENDING)]
    campaign = next(iter(fake_registration.campaigns.values()))
    assert campaign.messaging_service_sid == service.sid and campaign.brand_registration_sid == brand.sid
    assert states(session)[(K.CARRIER_BLOCK, NUMBER)] == S.FAILED  # the campaign is not approved yet

    fake_registration.fail("fetch_campaign", status=500)
    assert run() == []  # Twilio did not answer: the last known state stays
    fake_registration.approve(campaign.sid)
    assert run() == [(K.CAMPAIGN, S.PENDING, S.APPROVED), (K.CARRIER_BLOCK, S.FAILED, S.APPROVED)]
    assert fake_registration.calls["create_campaign"] == 1
    assert run() == []
