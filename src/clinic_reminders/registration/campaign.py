"""The office's A2P 10DLC campaign on its Messaging Service: submitted once the brand is APPROVED, by
`reminders setup twilio --register` or, later, by the running service's refresh (sync.py), never twice.

It registers what is sent: the samples are the office's own templates rendered (samples.py), with a patient link
as reminders carry one.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..gateways import Campaign, TwilioGateway
from ..models import BusinessProfile, Office, RegistrationKind
from ..settings import Settings
from ..telehealth.links import LINK_PATH, public_base, token_for
from . import problems, rows
from .samples import HELP_KEYWORDS, OPT_IN_KEYWORDS, OPT_OUT_KEYWORDS, USE_CASE, campaign_texts

FALLBACK_USE_CASE = "LOW_VOLUME"  # Twilio's mixed use case, when a brand may not register ours
SAMPLE_LINK_ID = 123456  # any id: what matters is that the sample link looks like the ones sent


def sample_link(db: Session, settings: Settings, office_id: int) -> str:
    return public_base(db, settings, office_id) + LINK_PATH + token_for(settings.secret_key_value, SAMPLE_LINK_ID)


def _use_case(gateway: TwilioGateway, service_sid: str, brand_sid: str) -> str:
    allowed = gateway.registration.list_use_cases(service_sid, brand_sid)
    if not allowed or USE_CASE in allowed:
        return USE_CASE
    return FALLBACK_USE_CASE if FALLBACK_USE_CASE in allowed else allowed[0]


def submit(
    db: Session,
    settings: Settings,
    gateway: TwilioGateway,
    office: Office,
    profile: BusinessProfile,
    *,
    service_sid: str,
    brand_sid: str,
) -> rows.Change | None:
    """Create the campaign (or adopt the one the brand already has on the service) and record it; the caller
    commits at once, so its SID is kept as soon as Twilio returns it."""
    row = rows.get_or_create(db, office.id, RegistrationKind.CAMPAIGN)
    if row.twilio_sid:
        found: Campaign = gateway.registration.fetch_campaign(service_sid, row.twilio_sid)
    else:
        existing = [
            c for c in gateway.registration.list_campaigns(service_sid) if c.brand_registration_sid == brand_sid
        ]
        found = existing[0] if existing else _create(db, settings, gateway, office, profile, service_sid, brand_sid)
    rows.save_part(row, "messaging_service", service_sid)
    return rows.record(row, found.status, problems.from_errors(found.errors), sid=found.sid, submitted=True)


def _create(
    db: Session,
    settings: Settings,
    gateway: TwilioGateway,
    office: Office,
    profile: BusinessProfile,
    service_sid: str,
    brand_sid: str,
) -> Campaign:
    texts = campaign_texts(db, office, profile, sample_link(db, settings, office.id))
    return gateway.registration.create_campaign(
        service_sid,
        brand_sid,
        use_case=_use_case(gateway, service_sid, brand_sid),
        description=texts.description,
        message_flow=texts.message_flow,
        message_samples=texts.samples,
        has_embedded_links=texts.has_embedded_links,
        has_embedded_phone=texts.has_embedded_phone,
        help_message=texts.help_message,
        opt_out_message=texts.opt_out_message,
        opt_in_message=texts.opt_in_message,
        help_keywords=HELP_KEYWORDS,
        opt_out_keywords=OPT_OUT_KEYWORDS,
        opt_in_keywords=OPT_IN_KEYWORDS,
        privacy_policy_url=profile.privacy_policy_url,
        terms_and_conditions_url=profile.terms_url,
    )
