"""A toll-free number's verification request, from the office's business profile and its campaign texts.

Twilio's Toll-free Verification API (messaging.twilio.com/v1/Tollfree/Verifications): unverified toll-free numbers
cannot text the US since 2024-01-31, and the business registration fields (EIN, its authority and country) are
required of new requests from 2026 on. A rejected request may be edited and resubmitted while Twilio says
`edit_allowed` (seven days, error 30824 after that).
"""

from __future__ import annotations

from typing import Any

from ..models import BusinessProfile, BusinessType
from .samples import OPT_IN_KEYWORDS, CampaignTexts

# Twilio's MessageVolume buckets (texts a month), smallest first.
VOLUMES = (
    (10, "10"),
    (100, "100"),
    (1_000, "1,000"),
    (10_000, "10,000"),
    (100_000, "100,000"),
    (250_000, "250,000"),
    (500_000, "500,000"),
    (750_000, "750,000"),
    (1_000_000, "1,000,000"),
    (5_000_000, "5,000,000"),
)
MOST = "10,000,000+"
USE_CASES = ["ACCOUNT_NOTIFICATIONS", "CUSTOMER_CARE"]  # reminders, and the office's replies to patients


def message_volume(monthly: int) -> str:
    return next((label for most, label in VOLUMES if monthly <= most), MOST)


def details(profile: BusinessProfile, texts: CampaignTexts, notification_email: str) -> dict[str, Any]:
    """The request's fields besides the number, as the SDK names them (create and update alike)."""
    return {
        "business_name": profile.legal_name,
        "business_website": profile.website,
        "notification_email": notification_email,
        "use_case_categories": USE_CASES,
        "use_case_summary": texts.description,
        "production_message_sample": texts.samples[0],
        "opt_in_image_urls": [profile.opt_in_url],
        "opt_in_type": profile.opt_in_type,
        "message_volume": message_volume(profile.monthly_volume),
        "additional_information": texts.message_flow,
        "business_street_address": profile.street,
        "business_street_address2": profile.street2 or None,
        "business_city": profile.city,
        "business_state_province_region": profile.region,
        "business_postal_code": profile.postal_code,
        "business_country": profile.country or "US",
        "business_contact_first_name": profile.contact_first_name,
        "business_contact_last_name": profile.contact_last_name,
        "business_contact_email": profile.contact_email,
        "business_contact_phone": profile.contact_phone,
        "business_registration_number": profile.ein.replace("-", ""),
        "business_registration_authority": "EIN",
        "business_registration_country": "US",
        "business_type": "NON_PROFIT" if profile.business_type == BusinessType.NON_PROFIT else "PRIVATE_PROFIT",
        "opt_in_keywords": list(OPT_IN_KEYWORDS),
        "help_message_sample": texts.help_message,
        "privacy_policy_url": profile.privacy_policy_url,
        "terms_and_conditions_url": profile.terms_url,
    }
