"""What Twilio's ISV onboarding for A2P 10DLC asks for, built from the office's business profile.

Twilio's "A2P 10DLC - Standard and Low-Volume Standard Brand Onboarding Guide for ISVs" (twilio.com/docs/messaging/
compliance/a2p-10dlc/onboarding-isv-api): a Trust Hub secondary customer profile (business information, an
authorized representative, the address as a supporting document, assigned to the ISV's approved primary profile,
evaluated, submitted), an A2P trust product (company type, with the customer profile), then the brand and, once the
brand is APPROVED, the campaign. The policy SIDs are the guide's, the same for every account.
"""

from __future__ import annotations

from typing import Any

from ..models import BusinessProfile, BusinessType

PROFILE_POLICY_SID = "RNdfbf3fae0e1107f8aded0e7cead80bf5"  # secondary customer profile (business)
A2P_POLICY_SID = "RNb0d4771c2c98518d916a3d4cd70a8f8b"  # A2P messaging profile (trust product)
PRIMARY_POLICY_SID = "RN6433641899984f951173ef1738c3bdd0"  # the ISV's own primary customer profile
LOW_VOLUME_DAILY = 6000  # Twilio: Low Volume Standard brands are for fewer than 6,000 message segments a day

# The parts of a registration, as its Registration row's `parts` keys.
BUSINESS_INFORMATION = "business_information"
REPRESENTATIVE = "authorized_representative_1"
ADDRESS = "address"
ADDRESS_DOCUMENT = "address_document"
MESSAGING_PROFILE = "messaging_profile"
PRIMARY_PROFILE = "primary_profile"


def friendly_name(profile: BusinessProfile, what: str) -> str:
    return f"{profile.legal_name}: {what}"[:64]


def business_information(profile: BusinessProfile) -> dict[str, Any]:
    return {
        "business_name": profile.legal_name,
        "business_identity": "direct_customer",
        "business_type": profile.business_type,
        "business_industry": "HEALTHCARE",
        "business_registration_identifier": "EIN",
        "business_registration_number": profile.ein.replace("-", ""),
        "business_regions_of_operation": "USA_AND_CANADA",
        "website_url": profile.website,
    }


def representative(profile: BusinessProfile) -> dict[str, Any]:
    return {
        "first_name": profile.contact_first_name,
        "last_name": profile.contact_last_name,
        "email": profile.contact_email,
        "phone_number": profile.contact_phone,
        "business_title": profile.contact_title,
        "job_position": profile.contact_job_position,
    }


def address(profile: BusinessProfile) -> dict[str, Any]:
    return {
        "customer_name": profile.legal_name,
        "street": profile.street,
        "street_secondary": profile.street2 or None,
        "city": profile.city,
        "region": profile.region,
        "postal_code": profile.postal_code,
    }


def messaging_profile(profile: BusinessProfile) -> dict[str, Any]:
    """The trust product's end user: a clinic is a private company or a non-profit, never listed on a stock
    exchange here (a public company would need its exchange and ticker)."""
    company_type = "non_profit" if profile.business_type == BusinessType.NON_PROFIT else "private"
    return {"company_type": company_type, "brand_contact_email": profile.contact_email}


def low_volume(profile: BusinessProfile) -> bool:
    """A Low Volume Standard brand (no secondary vetting) while the office sends fewer than 6,000 a day."""
    return profile.monthly_volume < LOW_VOLUME_DAILY * 30
