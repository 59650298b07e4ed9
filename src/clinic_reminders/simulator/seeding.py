"""Registrations an account starts with (`AccountConfig.registration`), under stable SIDs.

"primary" gives the ISV's approved primary customer profile. "approved" is a registered office on top of it:
an approved secondary customer profile and A2P trust product (with the end-users and address they hold), an
approved brand, a Messaging Service holding the account's numbers (its inbound URL and method are the first
number's SMS URL and method) with a verified campaign, and an approved toll-free verification for each
toll-free number. `registration_sids()` gives the SIDs, so the demo can write them into its database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .config import AccountConfig, SimulatorConfig, stable_sid
from .policies import A2P_TRUST_PRODUCT_POLICY, PRIMARY_PROFILE_POLICY, SECONDARY_PROFILE_POLICY
from .registry import (
    Brand,
    Bundle,
    Campaign,
    CustomerProfile,
    EndUser,
    EntityAssignment,
    MessagingService,
    RegistrationStore,
    Registry,
    SupportingDocument,
    TollfreeVerification,
    TrustProduct,
    is_toll_free,
)
from .state import Account

SEEDED_CAMPAIGN: dict[str, Any] = {
    "description": "Appointment reminders and confirmations for patients of the office's clinics.",
    "message_samples": [
        "Reminder: your visit at Riverside Clinic is tomorrow at 9:00. Reply 1 to confirm, 2 to cancel.",
        "Riverside Clinic: thanks, your visit is confirmed. Reply STOP to stop reminders, HELP for help.",
    ],
    "us_app_to_person_usecase": "ACCOUNT_NOTIFICATION",
    "has_embedded_links": False,
    "has_embedded_phone": False,
    "subscriber_opt_in": True,
    "age_gated": False,
    "direct_lending": False,
    "message_flow": "Patients give their mobile number at the front desk and agree to text reminders.",
    "opt_in_message": None,
    "opt_out_message": None,
    "help_message": None,
    "opt_in_keywords": None,
    "opt_out_keywords": None,
    "help_keywords": None,
    "privacy_policy_url": None,
    "terms_and_conditions_url": None,
}

SEEDED_VERIFICATION: dict[str, Any] = {
    "business_website": "https://clinic.example",
    "notification_email": "compliance@clinic.example",
    "use_case_categories": ["ACCOUNT_NOTIFICATIONS"],
    "use_case_summary": SEEDED_CAMPAIGN["description"],
    "production_message_sample": SEEDED_CAMPAIGN["message_samples"][0],
    "opt_in_image_urls": ["https://clinic.example/text-reminders-consent.png"],
    "opt_in_type": "VERBAL",
    "message_volume": "1,000",
}


@dataclass(frozen=True, slots=True)
class RegistrationSids:
    """The SIDs of a seeded registered office (`registration="approved"`)."""

    account_sid: str
    primary_profile_sid: str
    customer_profile_sid: str
    trust_product_sid: str
    brand_sid: str
    messaging_service_sid: str
    campaign_sid: str

    def tollfree_verification_sid(self, phone_number: str) -> str:
        return stable_sid("HH", self.account_sid, "registration", "tollfree", phone_number)


def registration_sids(account_sid: str) -> RegistrationSids:
    def sid(prefix: str, name: str) -> str:
        return stable_sid(prefix, account_sid, "registration", name)

    return RegistrationSids(
        account_sid=account_sid,
        primary_profile_sid=sid("BU", "primary-profile"),
        customer_profile_sid=sid("BU", "customer-profile"),
        trust_product_sid=sid("BU", "trust-product"),
        brand_sid=sid("BN", "brand"),
        messaging_service_sid=sid("MG", "messaging-service"),
        campaign_sid=sid("QE", "campaign"),
    )


def seed(registry: Registry, account: Account, config: AccountConfig) -> None:
    if config.registration == "none":
        return
    sids = registration_sids(account.sid)
    email = "compliance@clinic.example"
    primary = CustomerProfile(
        sid=sids.primary_profile_sid,
        account_sid=account.sid,
        status="twilio-approved",
        policy_sid=PRIMARY_PROFILE_POLICY,
        friendly_name="Primary business profile",
        email=email,
    )
    registry.profiles[primary.sid] = primary
    if config.registration != "approved":
        return
    profile = CustomerProfile(
        sid=sids.customer_profile_sid,
        account_sid=account.sid,
        status="twilio-approved",
        policy_sid=SECONDARY_PROFILE_POLICY,
        friendly_name=account.friendly_name,
        email=email,
    )
    registry.profiles[profile.sid] = profile
    _hold(registry, profile, "business", "customer_profile_business_information", _BUSINESS)
    _hold(registry, profile, "representative", "authorized_representative_1", _REPRESENTATIVE)
    document = SupportingDocument(
        stable_sid("RD", account.sid, "registration", "address"),
        account.sid,
        "Office address",
        "customer_profile_address",
        {"address_sids": stable_sid("AD", account.sid, "registration", "address")},
        status="APPROVED",
    )
    registry.documents[document.sid] = document
    _assign(profile, document.sid)
    _assign(profile, primary.sid)
    product = TrustProduct(
        sid=sids.trust_product_sid,
        account_sid=account.sid,
        status="twilio-approved",
        policy_sid=A2P_TRUST_PRODUCT_POLICY,
        friendly_name=f"{account.friendly_name} A2P profile",
        email=email,
    )
    registry.trust_products[product.sid] = product
    _hold(registry, product, "a2p", "us_a2p_messaging_profile_information", {"company_type": "private"})
    _assign(product, profile.sid)
    brand = Brand(
        sid=sids.brand_sid,
        account_sid=account.sid,
        status="APPROVED",
        customer_profile_bundle_sid=profile.sid,
        a2p_profile_bundle_sid=product.sid,
        identity_status="VERIFIED",
    )
    registry.brands[brand.sid] = brand
    _service_and_campaign(registry, account, config, sids)
    for number in account.numbers.values():
        if is_toll_free(number.phone_number):
            verification = TollfreeVerification(
                sid=sids.tollfree_verification_sid(number.phone_number),
                account_sid=account.sid,
                status="TWILIO_APPROVED",
                tollfree_phone_number_sid=number.sid,
                tollfree_phone_number=number.phone_number,
                customer_profile_sid=profile.sid,
                details={**SEEDED_VERIFICATION, "business_name": account.friendly_name},
            )
            registry.tollfree[verification.sid] = verification


def _service_and_campaign(registry: Registry, account: Account, config: AccountConfig, sids: RegistrationSids) -> None:
    first = config.numbers[0] if config.numbers else None
    service = MessagingService(
        sid=sids.messaging_service_sid,
        account_sid=account.sid,
        friendly_name="Appointment reminders",
        inbound_request_url=first.sms_url if first else None,
        inbound_method=(first.sms_method if first else "POST").upper(),
        status_callback=config.service_status_callback,
        usecase="notifications",
    )
    for number in account.numbers.values():
        if number.sms:
            service.senders[number.sid] = number.date_created
    registry.services[service.sid] = service
    campaign = Campaign(
        sid=sids.campaign_sid,
        account_sid=account.sid,
        status="VERIFIED",
        messaging_service_sid=service.sid,
        brand_registration_sid=sids.brand_sid,
        details=dict(SEEDED_CAMPAIGN),
        campaign_id=stable_sid("C", account.sid, "campaign")[:7].upper(),
    )
    registry.campaigns[campaign.sid] = campaign


_BUSINESS = {
    "business_name": "Simulated Medical Office",
    "business_identity": "direct_customer",
    "business_type": "Limited Liability Corporation",
    "business_industry": "HEALTHCARE",
    "business_registration_identifier": "EIN",
    "business_registration_number": "12-3456789",
    "business_regions_of_operation": "USA_AND_CANADA",
    "website_url": "https://clinic.example",
}
_REPRESENTATIVE = {
    "first_name": "Front",
    "last_name": "Desk",
    "email": "office@clinic.example",
    "phone_number": "+15005550006",
    "business_title": "Office manager",
    "job_position": "GM",
}


def _hold(registry: Registry, bundle: Bundle, name: str, user_type: str, attributes: dict[str, Any]) -> None:
    user = EndUser(stable_sid("IT", bundle.sid, name), bundle.account_sid, name, user_type, dict(attributes))
    registry.end_users[user.sid] = user
    _assign(bundle, user.sid)


def _assign(bundle: Bundle, object_sid: str) -> None:
    sid = stable_sid("BV", bundle.sid, object_sid)
    bundle.assignments[sid] = EntityAssignment(sid, bundle.sid, bundle.account_sid, object_sid)


def seeded_store(config: SimulatorConfig, accounts: dict[str, Account]) -> RegistrationStore:
    """Every account's registrations as its configuration seeds them."""
    store = RegistrationStore()
    for account_config in config.accounts:
        seed(store.of(account_config.sid), accounts[account_config.sid], account_config)
    return store
