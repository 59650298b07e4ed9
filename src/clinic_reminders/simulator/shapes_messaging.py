"""Messaging API records as Twilio's JSON (messaging.twilio.com/v1): services, their senders, A2P brands and
campaigns, toll-free verifications. Every field the spec declares is present (null when empty); URLs are
absolute, as the v1 APIs give them. tests/integration/test_simulator_registration_shapes.py validates them."""

from __future__ import annotations

from typing import Any

from .registry import Brand, Campaign, MessagingService, TollfreeVerification
from .shapes import iso
from .state import Number

SERVICE_LINKS = (
    "phone_numbers",
    "short_codes",
    "alpha_senders",
    "messages",
    "us_app_to_person",
    "us_app_to_person_usecases",
    "channel_senders",
    "destination_alpha_senders",
)
LINK_PATHS = {"us_app_to_person": "Compliance/Usa2p", "us_app_to_person_usecases": "Compliance/Usa2p/Usecases"}

# Every field of a toll-free verification that holds what was submitted, in the resource's order.
TOLLFREE_FIELDS = (
    "business_name",
    "business_street_address",
    "business_street_address2",
    "business_city",
    "business_state_province_region",
    "business_postal_code",
    "business_country",
    "business_website",
    "business_contact_first_name",
    "business_contact_last_name",
    "business_contact_email",
    "business_contact_phone",
    "notification_email",
    "use_case_categories",
    "use_case_summary",
    "production_message_sample",
    "opt_in_image_urls",
    "opt_in_type",
    "message_volume",
    "additional_information",
    "business_registration_number",
    "business_registration_authority",
    "business_registration_country",
    "business_type",
    "business_registration_phone_number",
    "doing_business_as",
    "opt_in_confirmation_message",
    "help_message_sample",
    "privacy_policy_url",
    "terms_and_conditions_url",
    "age_gated_content",
    "opt_in_keywords",
    "vetting_id",
    "vetting_provider",
)
CAMPAIGN_FIELDS = (
    "description",
    "message_samples",
    "us_app_to_person_usecase",
    "has_embedded_links",
    "has_embedded_phone",
    "subscriber_opt_in",
    "age_gated",
    "direct_lending",
    "message_flow",
    "opt_in_message",
    "opt_out_message",
    "help_message",
    "opt_in_keywords",
    "opt_out_keywords",
    "help_keywords",
    "privacy_policy_url",
    "terms_and_conditions_url",
)


def service_json(s: MessagingService, base_url: str, *, registered: bool) -> dict[str, Any]:
    url = f"{base_url}/v1/Services/{s.sid}"
    return {
        "sid": s.sid,
        "account_sid": s.account_sid,
        "friendly_name": s.friendly_name,
        "date_created": iso(s.date_created),
        "date_updated": iso(s.date_updated),
        "inbound_request_url": s.inbound_request_url,
        "inbound_method": s.inbound_method,
        "fallback_url": s.fallback_url,
        "fallback_method": s.fallback_method,
        "status_callback": s.status_callback,
        "sticky_sender": s.sticky_sender,
        "mms_converter": s.mms_converter,
        "smart_encoding": s.smart_encoding,
        "scan_message_content": s.scan_message_content,
        "fallback_to_long_code": s.fallback_to_long_code,
        "area_code_geomatch": s.area_code_geomatch,
        "synchronous_validation": s.synchronous_validation,
        "validity_period": s.validity_period,
        "url": url,
        "links": {name: f"{url}/{LINK_PATHS.get(name, _camel(name))}" for name in SERVICE_LINKS},
        "usecase": s.usecase,
        "us_app_to_person_registered": registered,
        "use_inbound_webhook_on_number": s.use_inbound_webhook_on_number,
    }


def service_number_json(service: MessagingService, n: Number, base_url: str) -> dict[str, Any]:
    added = service.senders[n.sid]
    capabilities = [name for name, on in (("MMS", n.sms), ("SMS", n.sms), ("Voice", n.voice)) if on]
    return {
        "sid": n.sid,
        "account_sid": n.account_sid,
        "service_sid": service.sid,
        "date_created": iso(added),
        "date_updated": iso(added),
        "phone_number": n.phone_number,
        "country_code": "US" if n.phone_number.startswith("+1") else None,
        "capabilities": capabilities,
        "url": f"{base_url}/v1/Services/{service.sid}/PhoneNumbers/{n.sid}",
    }


def brand_json(b: Brand, base_url: str) -> dict[str, Any]:
    url = f"{base_url}/v1/a2p/BrandRegistrations/{b.sid}"
    return {
        "sid": b.sid,
        "account_sid": b.account_sid,
        "customer_profile_bundle_sid": b.customer_profile_bundle_sid,
        "a2p_profile_bundle_sid": b.a2p_profile_bundle_sid,
        "date_created": iso(b.date_created),
        "date_updated": iso(b.date_updated),
        "brand_type": b.brand_type,
        "status": b.status,
        "tcr_id": b.tcr_id,
        "failure_reason": b.failure_reason,
        "errors": list(b.errors),
        "url": url,
        "brand_score": None,
        "brand_feedback": None,
        "identity_status": b.identity_status,
        "russell_3000": False,
        "government_entity": False,
        "tax_exempt_status": None,
        "skip_automatic_sec_vet": b.skip_automatic_sec_vet,
        "mock": b.mock,
        "links": {"brand_vettings": f"{url}/Vettings", "brand_registration_otps": f"{url}/SmsOtp"},
    }


def campaign_json(c: Campaign, base_url: str) -> dict[str, Any]:
    """Twilio's newer (v2) UsAppToPerson shape, which adds the policy URLs to the first one."""
    return {
        "sid": c.sid,
        "account_sid": c.account_sid,
        "brand_registration_sid": c.brand_registration_sid,
        "messaging_service_sid": c.messaging_service_sid,
        **{name: c.details.get(name) for name in CAMPAIGN_FIELDS},
        "campaign_status": c.status,
        "campaign_id": c.campaign_id,
        "is_externally_registered": False,
        "rate_limits": None,
        "date_created": iso(c.date_created),
        "date_updated": iso(c.date_updated),
        "url": f"{base_url}/v1/Services/{c.messaging_service_sid}/Compliance/Usa2p/{c.sid}",
        "mock": c.mock,
        "errors": list(c.errors),
    }


def tollfree_json(v: TollfreeVerification, base_url: str) -> dict[str, Any]:
    url = f"{base_url}/v1/Tollfree/Verifications/{v.sid}"
    return {
        "sid": v.sid,
        "account_sid": v.account_sid,
        "customer_profile_sid": v.customer_profile_sid,
        "trust_product_sid": None,
        "date_created": iso(v.date_created),
        "date_updated": iso(v.date_updated),
        "regulated_item_sid": None,
        **{name: v.details.get(name) for name in TOLLFREE_FIELDS},
        "tollfree_phone_number_sid": v.tollfree_phone_number_sid,
        "tollfree_phone_number": v.tollfree_phone_number,
        "status": v.status,
        "url": url,
        "rejection_reason": v.rejection_reason,
        "error_code": v.error_code,
        "edit_expiration": iso(v.edit_expiration),
        "edit_allowed": v.edit_allowed,
        "rejection_reasons": v.rejection_reasons,
        "resource_links": None,
        "external_reference_id": v.external_reference_id,
        "vetting_id_expiration": None,
    }


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))
