"""The demo office's carrier registration, kept the same as what the built-in simulator's account starts with.

`reminders demo` shows a registered office: the simulated account starts with an approved customer profile,
brand, and a Messaging Service with its verified campaign (simulator/seeding.py), and the office's rows say the
same under the same SIDs, so texts from the demo's local (10DLC) number go out. `reminders demo --unregistered`
starts both with nothing registered: texts wait with their reason while calls go out, and "Submit registration"
on the registration page walks the whole review in the simulator. Either way the business profile is filled in.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .models import BusinessType, JobPosition, Office, OptInType, Registration, RegistrationKind, RegistrationState
from .registration import rows
from .registration.profile import profile_of
from .simulator.seeding import registration_sids

PROFILE = {
    "legal_name": "Riverside & Lakeside Medical Group LLC",
    "business_type": BusinessType.LLC.value,
    "ein": "84-1234567",
    "street": "1200 Riverside Dr",
    "city": "Denver",
    "region": "CO",
    "postal_code": "80202",
    "website": "https://riverside-lakeside.example",
    "privacy_policy_url": "https://riverside-lakeside.example/privacy",
    "terms_url": "https://riverside-lakeside.example/terms",
    "contact_first_name": "Dana",
    "contact_last_name": "Whitfield",
    "contact_title": "Practice Manager",
    "contact_job_position": JobPosition.GM.value,
    "contact_email": "dana.whitfield@riverside-lakeside.example",
    "contact_phone": "+13035550100",
    "consent_flow": (
        "Patients give their mobile number on the new-patient intake form, which says the office will text "
        "appointment reminders and that they can reply STOP at any time."
    ),
    "opt_in_type": OptInType.PAPER_FORM.value,
    "opt_in_url": "https://riverside-lakeside.example/intake-form.png",
}

# What the simulator seeds for a registered office, in Twilio's own words for each resource.
_APPROVED = (
    (RegistrationKind.CUSTOMER_PROFILE, "customer_profile_sid", "twilio-approved"),
    (RegistrationKind.TRUST_PRODUCT, "trust_product_sid", "twilio-approved"),
    (RegistrationKind.BRAND, "brand_sid", "APPROVED"),
    (RegistrationKind.CAMPAIGN, "campaign_sid", "VERIFIED"),
)


def fill_profile(db: Session, office: Office) -> None:
    """The demo business's profile, where a field is still empty (what a person typed stays)."""
    profile = profile_of(db, office)
    for name, value in PROFILE.items():
        if not getattr(profile, name):
            setattr(profile, name, value)


def registered(db: Session, office: Office, account_sid: str, now: datetime | None = None) -> None:
    """The office's rows as the simulator's registered account has them: every text may go out."""
    now = now or datetime.now(UTC)
    sids = registration_sids(account_sid)
    db.execute(
        delete(Registration).where(Registration.office_id == office.id, Registration.kind.not_in(_kinds()))
    )  # a carrier block or toll-free verification of an earlier run's number
    for kind, sid_name, twilio_status in _APPROVED:
        row = rows.get_or_create(db, office.id, kind)
        rows.record(row, twilio_status, sid=getattr(sids, sid_name), submitted=True, now=now)
    office.twilio_messaging_service_sid = sids.messaging_service_sid


def unregistered(db: Session, office: Office) -> None:
    """Nothing registered, as for an office that has just connected its account."""
    db.execute(delete(Registration).where(Registration.office_id == office.id))
    office.twilio_messaging_service_sid = None


def is_registered(db: Session, office: Office, account_sid: str) -> bool:
    """Whether the office's campaign is the simulator's seeded, approved one (what the simulator starts with)."""
    campaign = db.scalar(
        select(Registration).where(Registration.office_id == office.id, Registration.kind == RegistrationKind.CAMPAIGN)
    )
    return (
        campaign is not None
        and campaign.state == RegistrationState.APPROVED
        and campaign.twilio_sid == registration_sids(account_sid).campaign_sid
    )


def _kinds() -> list[str]:
    return [kind.value for kind, _, _ in _APPROVED]
