"""Every carrier-registration request we send conforms to Twilio's spec (Messaging v1, Trust Hub v1 and the
2010 API's Addresses), as test_conformance.py checks the other operations: Stoplight Prism answers 422 with the
reason when a request breaks the spec.

Prism 5 misreads two form-body cases of the Messaging spec (array properties), so for those only we check the
request's form values against the spec's schema ourselves (prism_support.KNOWN_PRISM_DEFECTS).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import pytest

from clinic_reminders.gateways import BundleKind, TwilioError, TwilioGateway
from clinic_reminders.registration.a2p import A2P_POLICY_SID, PROFILE_POLICY_SID
from tests.fixtures.prism import ACCOUNT_SID, NUMBER_SID, assert_accepted
from tests.fixtures.simulator import CLINIC_NUMBER, PATIENT
from tests.integration import prism_support
from tests.integration.test_conformance import SpecValidator, last_response

SERVICE = "MG" + "c" * 32
BUNDLE = "BU" + "d" * 32
END_USER = "IT" + "e" * 32
BRAND = "BN" + "f" * 32
CAMPAIGN = "QE" + "1" * 32
VERIFICATION = "HH" + "2" * 32
ADDRESS = "AD" + "3" * 32
URL = "https://clinic.example.com:8443"
SAMPLES = ["Riverside: Maria, your visit is tomorrow 9:30 AM. Reply 1 to confirm, 2 to cancel. STOP to opt out."] * 2

TOLLFREE_DETAILS: dict[str, Any] = {
    "business_name": "Riverside Family Medicine LLC",
    "business_website": "https://riverside.example.com",
    "notification_email": "grace@riverside.example.com",
    "use_case_categories": ["ACCOUNT_NOTIFICATIONS"],
    "use_case_summary": "Appointment reminders from Riverside Family Medicine to its patients, answered by digits.",
    "production_message_sample": SAMPLES[0],
    "opt_in_image_urls": ["https://riverside.example.com/intake-form.png"],
    "opt_in_type": "PAPER_FORM",
    "message_volume": "1,000",
    "business_street_address": "100 River Road",
    "business_city": "Denver",
    "business_state_province_region": "CO",
    "business_postal_code": "80202",
    "business_country": "US",
    "business_contact_first_name": "Grace",
    "business_contact_last_name": "Hopper",
    "business_contact_email": "grace@riverside.example.com",
    "business_contact_phone": "+13035550142",
    "business_registration_number": "123456789",
    "business_registration_authority": "EIN",
    "business_registration_country": "US",
    "business_type": "PRIVATE_PROFIT",
    "privacy_policy_url": "https://riverside.example.com/privacy",
    "terms_and_conditions_url": "https://riverside.example.com/terms",
}

OPERATIONS: dict[str, Callable[[TwilioGateway], Any]] = {
    "list_services": lambda g: g.registration.list_services(limit=1),
    "fetch_service": lambda g: g.registration.fetch_service(SERVICE),
    "create_service": lambda g: g.registration.create_service(
        "clinic-reminders",
        inbound_request_url=f"{URL}/app_confirm",
        inbound_method="GET",
        status_callback=f"{URL}/twilio/status",
        sticky_sender=True,
        use_inbound_webhook_on_number=False,
    ),
    "update_service": lambda g: g.registration.update_service(
        SERVICE, inbound_request_url=f"{URL}/app_confirm", inbound_method="GET", sticky_sender=True
    ),
    "list_service_senders": lambda g: g.registration.list_service_senders(SERVICE, limit=1),
    "add_service_sender": lambda g: g.registration.add_service_sender(SERVICE, NUMBER_SID),
    "list_customer_profiles": lambda g: g.registration.list_bundles(
        BundleKind.CUSTOMER_PROFILE, policy_sid=PROFILE_POLICY_SID, status="twilio-approved", limit=1
    ),
    "create_customer_profile": lambda g: g.registration.create_bundle(
        BundleKind.CUSTOMER_PROFILE,
        "Riverside: secondary customer profile",
        "it@riverside.example.com",
        PROFILE_POLICY_SID,
        status_callback=f"{URL}/twilio/status",
    ),
    "fetch_customer_profile": lambda g: g.registration.fetch_bundle(BundleKind.CUSTOMER_PROFILE, BUNDLE),
    "submit_customer_profile": lambda g: g.registration.submit_bundle(BundleKind.CUSTOMER_PROFILE, BUNDLE),
    "assign_to_customer_profile": lambda g: g.registration.assign(BundleKind.CUSTOMER_PROFILE, BUNDLE, END_USER),
    "list_customer_profile_assignments": lambda g: g.registration.list_assignments(
        BundleKind.CUSTOMER_PROFILE, BUNDLE, limit=1
    ),
    "evaluate_customer_profile": lambda g: g.registration.evaluate(
        BundleKind.CUSTOMER_PROFILE, BUNDLE, PROFILE_POLICY_SID
    ),
    "list_trust_products": lambda g: g.registration.list_bundles(
        BundleKind.TRUST_PRODUCT, policy_sid=A2P_POLICY_SID, limit=1
    ),
    "create_trust_product": lambda g: g.registration.create_bundle(
        BundleKind.TRUST_PRODUCT, "Riverside: A2P trust product", "it@riverside.example.com", A2P_POLICY_SID
    ),
    "fetch_trust_product": lambda g: g.registration.fetch_bundle(BundleKind.TRUST_PRODUCT, BUNDLE),
    "submit_trust_product": lambda g: g.registration.submit_bundle(BundleKind.TRUST_PRODUCT, BUNDLE),
    "assign_to_trust_product": lambda g: g.registration.assign(BundleKind.TRUST_PRODUCT, BUNDLE, END_USER),
    "list_trust_product_assignments": lambda g: g.registration.list_assignments(
        BundleKind.TRUST_PRODUCT, BUNDLE, limit=1
    ),
    "evaluate_trust_product": lambda g: g.registration.evaluate(BundleKind.TRUST_PRODUCT, BUNDLE, A2P_POLICY_SID),
    "create_end_user": lambda g: g.registration.create_end_user(
        "Riverside: business information",
        "customer_profile_business_information",
        {"business_name": "Riverside Family Medicine LLC", "business_registration_number": "123456789"},
    ),
    "update_end_user": lambda g: g.registration.update_end_user(END_USER, {"business_name": "Riverside LLC"}),
    "create_supporting_document": lambda g: g.registration.create_supporting_document(
        "Riverside: address", "customer_profile_address", {"address_sids": ADDRESS}
    ),
    "create_address": lambda g: g.registration.create_address(
        "Riverside: address",
        customer_name="Riverside Family Medicine LLC",
        street="100 River Road",
        street_secondary="Suite 2",
        city="Denver",
        region="CO",
        postal_code="80202",
        iso_country="US",
    ),
    "update_address": lambda g: g.registration.update_address(
        ADDRESS,
        customer_name="Riverside Family Medicine LLC",
        street="100 River Road",
        street_secondary=None,
        city="Denver",
        region="CO",
        postal_code="80202",
    ),
    "list_brands": lambda g: g.registration.list_brands(limit=1),
    "create_brand": lambda g: g.registration.create_brand(BUNDLE, BUNDLE, skip_automatic_secondary_vetting=True),
    "fetch_brand": lambda g: g.registration.fetch_brand(BRAND),
    "resubmit_brand": lambda g: g.registration.resubmit_brand(BRAND),
    "list_use_cases": lambda g: g.registration.list_use_cases(SERVICE, BRAND),
    "list_campaigns": lambda g: g.registration.list_campaigns(SERVICE, limit=1),
    "fetch_campaign": lambda g: g.registration.fetch_campaign(SERVICE, CAMPAIGN),
    "create_campaign": lambda g: g.registration.create_campaign(
        SERVICE,
        BRAND,
        use_case="ACCOUNT_NOTIFICATION",
        description="Appointment reminders from Riverside Family Medicine to its patients, answered by digits.",
        message_flow="Patients give their mobile number on the intake form, which says the office texts reminders.",
        message_samples=SAMPLES,
        has_embedded_links=False,
        has_embedded_phone=True,
        help_message="Riverside: call (303) 555-0100 for help. Reply STOP to stop texts.",
        opt_out_message="Riverside: you will get no more texts. Reply START to get them again.",
        opt_in_message="Riverside: you will get appointment texts again. Reply STOP to stop.",
        help_keywords=["HELP", "INFO"],
        opt_out_keywords=["STOP", "QUIT"],
        opt_in_keywords=["START"],
        privacy_policy_url="https://riverside.example.com/privacy",
        terms_and_conditions_url="https://riverside.example.com/terms",
    ),
    "list_tollfree_verifications": lambda g: g.registration.list_tollfree_verifications(
        phone_number_sid=NUMBER_SID, limit=1
    ),
    "create_tollfree_verification": lambda g: g.registration.create_tollfree_verification(NUMBER_SID, TOLLFREE_DETAILS),
    "fetch_tollfree_verification": lambda g: g.registration.fetch_tollfree_verification(VERIFICATION),
    "update_tollfree_verification": lambda g: g.registration.update_tollfree_verification(
        VERIFICATION, {**TOLLFREE_DETAILS, "edit_reason": "corrected the business address"}
    ),
}


@pytest.fixture
def prism_gateway(prism_urls: dict[str, str]) -> TwilioGateway:
    return TwilioGateway(ACCOUNT_SID, "any-token", domain_urls=prism_urls)


@pytest.fixture(scope="module")
def messaging_spec() -> SpecValidator:
    return prism_support.messaging_spec()


@pytest.mark.prism
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_it_sends_registration_operations_as_the_spec_says(
    prism_gateway: TwilioGateway, messaging_spec: SpecValidator, operation: str
) -> None:
    with contextlib.suppress(TwilioError):
        OPERATIONS[operation](prism_gateway)
    prism_support.assert_form_conforms(prism_gateway, operation, messaging_spec)


@pytest.mark.prism
def test_the_form_check_catches_what_prism_cannot(prism_gateway: TwilioGateway, messaging_spec: SpecValidator) -> None:
    """The fallback check is no blanket pass: a misspelled property, or an unknown use case category, fails."""
    with contextlib.suppress(TwilioError):
        OPERATIONS["create_campaign"](prism_gateway)
    request = prism_gateway._client.http_client._test_only_last_request
    request.data["MessageSample"] = request.data.pop("MessageSamples")
    with pytest.raises(AssertionError, match="breaks the spec"):
        prism_support.assert_form_conforms(prism_gateway, "create_campaign", messaging_spec)
    with contextlib.suppress(TwilioError):
        OPERATIONS["create_tollfree_verification"](prism_gateway)
    prism_gateway._client.http_client._test_only_last_request.data["UseCaseCategories"] = ["APPOINTMENTS"]
    with pytest.raises(AssertionError, match="breaks the spec"):
        prism_support.assert_form_conforms(prism_gateway, "create_tollfree_verification", messaging_spec)


@pytest.mark.prism
def test_it_sends_texts_through_a_messaging_service_as_the_spec_says(prism_gateway: TwilioGateway) -> None:
    async def run() -> None:
        calls: dict[str, Callable[[], Any]] = {
            "send_sms with a service and a sender": lambda: prism_gateway.send_sms(
                PATIENT, CLINIC_NUMBER, "Reminder", messaging_service_sid=SERVICE, status_callback=f"{URL}/s"
            ),
            "send_sms with the service choosing": lambda: prism_gateway.send_sms(
                PATIENT, None, "Reminder", messaging_service_sid=SERVICE
            ),
        }
        try:
            for operation, call in calls.items():
                with contextlib.suppress(TwilioError):
                    await call()
                assert_accepted(last_response(prism_gateway, async_client=True), operation)
        finally:
            await prism_gateway.aclose()

    asyncio.run(run())
    with pytest.raises(ValueError, match="From number or a Messaging Service"):
        asyncio.run(prism_gateway.send_sms(PATIENT, None, "Reminder"))
