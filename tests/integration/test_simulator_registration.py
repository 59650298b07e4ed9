"""Carrier registration in the simulator, driven through the official twilio SDK: Trust Hub bundles, A2P brands
and campaigns, toll-free verifications, their reviews and rejections, and what carriers do with texts from
senders that are not registered (30034, 30032)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException

from clinic_reminders.simulator import AccountConfig, NumberConfig, SimulatorConfig
from clinic_reminders.simulator.policies import A2P_TRUST_PRODUCT_POLICY, SECONDARY_PROFILE_POLICY
from clinic_reminders.simulator.seeding import registration_sids
from tests.fixtures.simulator import (
    CLINIC_NUMBER,
    PATIENT,
    SimulatorClient,
    WebhookReceiver,
    default_config,
    wait_until,
)

LOCAL = "+12125550100"  # a 10DLC number
TOLL_FREE = "+18885550100"


def office(*, registered: bool = False, **changes: Any) -> SimulatorConfig:
    """An office with a local and a toll-free number (not registered unless told) beside Twilio's test number;
    reviews wait for the inspection API unless told otherwise."""
    base = default_config()
    numbers = [NumberConfig(n, registered=registered) for n in (LOCAL, TOLL_FREE)] + [NumberConfig(CLINIC_NUMBER)]
    account = replace(base.accounts[0], numbers=numbers, registration=changes.pop("registration", "primary"))
    return replace(base, accounts=[account], **{"reviews_approve": False, "review_delay_s": 0.1, **changes})


def rest_error(call: Any) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as caught:
        call()
    return caught.value


def final_status(simulator: SimulatorClient, sid: str) -> dict[str, Any]:
    final = ("delivered", "undelivered", "failed")
    return simulator.wait_for_message(sid, lambda m: m["status"] in final)


def number_sid(client: Any, phone: str) -> str:
    return str(client.incoming_phone_numbers.list(phone_number=phone)[0].sid)


BUSINESS = {
    "business_name": "Riverside Family Medicine",
    "business_identity": "direct_customer",
    "business_type": "Partnership",
    "business_industry": "HEALTHCARE",
    "business_registration_identifier": "EIN",
    "business_registration_number": "12-3456789",
    "business_regions_of_operation": "USA_AND_CANADA",
    "website_url": "https://riverside.example",
}
REPRESENTATIVE = {
    "first_name": "Maria",
    "last_name": "Chen",
    "email": "maria@riverside.example",
    "phone_number": "+15551230000",
    "business_title": "Practice manager",
    "job_position": "GM",
}


def build_profile(client: Any, primary_sid: str) -> Any:
    """Steps 1.x of Twilio's ISV guide: a secondary customer profile holding everything its policy asks for."""
    trusthub = client.trusthub.v1
    profile = trusthub.customer_profiles.create(
        friendly_name="Riverside", email="maria@riverside.example", policy_sid=SECONDARY_PROFILE_POLICY
    )
    business = trusthub.end_users.create(
        type="customer_profile_business_information", friendly_name="Riverside", attributes=BUSINESS
    )
    representative = trusthub.end_users.create(
        type="authorized_representative_1", friendly_name="Maria Chen", attributes=REPRESENTATIVE
    )
    address = trusthub.supporting_documents.create(
        type="customer_profile_address", friendly_name="Office", attributes={"address_sids": "AD" + "1" * 32}
    )
    for sid in (business.sid, representative.sid, address.sid, primary_sid):
        trusthub.customer_profiles(profile.sid).customer_profiles_entity_assignments.create(object_sid=sid)
    return profile


def build_trust_product(client: Any, profile_sid: str) -> Any:
    """Steps 2.x: the A2P trust product, holding the messaging profile information and the customer profile."""
    trusthub = client.trusthub.v1
    product = trusthub.trust_products.create(
        friendly_name="Riverside A2P", email="maria@riverside.example", policy_sid=A2P_TRUST_PRODUCT_POLICY
    )
    a2p = trusthub.end_users.create(
        type="us_a2p_messaging_profile_information", friendly_name="Riverside", attributes={"company_type": "private"}
    )
    for sid in (a2p.sid, profile_sid):
        trusthub.trust_products(product.sid).trust_products_entity_assignments.create(object_sid=sid)
    return product


CAMPAIGN = {
    "description": "Appointment reminders for the patients of Riverside Family Medicine.",
    "message_flow": "Patients give their mobile number at the front desk and agree to text reminders.",
    "message_samples": ["Riverside: your visit is tomorrow at 9:00. Reply 1 to confirm.", "Reply STOP to stop."],
    "us_app_to_person_usecase": "ACCOUNT_NOTIFICATION",
    "has_embedded_links": False,
    "has_embedded_phone": False,
}


def test_it_registers_an_office_until_carriers_deliver_its_texts(
    simulator: SimulatorClient, webhook_receiver: WebhookReceiver
) -> None:
    simulator.reset(office(reviews_approve=True, review_delay_s=0.4))
    client = simulator.sdk()
    callback = webhook_receiver.answer("/status", "")
    blocked = client.messages.create(to=PATIENT, from_=LOCAL, body="Reminder", status_callback=callback)
    assert blocked.status == "queued"  # carriers filter later: the create succeeds
    statuses = webhook_receiver.wait_for("/status", count=3)
    assert [c.params["MessageStatus"] for c in statuses] == ["queued", "sent", "undelivered"]
    assert statuses[-1].params["ErrorCode"] == "30034"
    assert client.messages(blocked.sid).fetch().error_code == 30034

    policy = client.trusthub.v1.policies(SECONDARY_PROFILE_POLICY).fetch()
    assert {r["type"] for r in policy.requirements["end_user"]} >= {"customer_profile_business_information"}
    [primary] = client.trusthub.v1.customer_profiles.list(status="twilio-approved")
    profile = client.trusthub.v1.customer_profiles.create(
        friendly_name="Riverside", email="maria@riverside.example", policy_sid=SECONDARY_PROFILE_POLICY
    )
    empty = client.trusthub.v1.customer_profiles(profile.sid).customer_profiles_evaluations.create(
        policy_sid=SECONDARY_PROFILE_POLICY
    )
    assert empty.status == "noncompliant"
    missing = {r["requirement_name"]: r["error_code"] for r in empty.results if not r["passed"]}
    assert missing == {
        "customer_profile_business_information": 22214,
        "authorized_representative_1": 22214,
        "customer_profile_address": 22216,
        "primary_customer_profile": 22216,
    }
    client.trusthub.v1.customer_profiles(profile.sid).delete()
    profile = build_profile(client, primary.sid)
    evaluation = client.trusthub.v1.customer_profiles(profile.sid).customer_profiles_evaluations.create(
        policy_sid=SECONDARY_PROFILE_POLICY
    )
    assert evaluation.status == "compliant"
    assert client.trusthub.v1.customer_profiles(profile.sid).update(status="pending-review").status == "pending-review"
    product = build_trust_product(client, profile.sid)
    evaluation = client.trusthub.v1.trust_products(product.sid).trust_products_evaluations.create(
        policy_sid=A2P_TRUST_PRODUCT_POLICY
    )
    assert evaluation.status == "compliant"
    client.trusthub.v1.trust_products(product.sid).update(status="pending-review")
    brand = client.messaging.v1.brand_registrations.create(
        customer_profile_bundle_sid=profile.sid, a2p_profile_bundle_sid=product.sid
    )
    assert brand.status == "PENDING" and brand.tcr_id
    wait_until(lambda: client.trusthub.v1.customer_profiles(profile.sid).fetch().status == "in-review")
    wait_until(lambda: client.messaging.v1.brand_registrations(brand.sid).fetch().status == "APPROVED")
    assert client.trusthub.v1.customer_profiles(profile.sid).fetch().status == "twilio-approved"

    service = client.messaging.v1.services.create(friendly_name="Riverside reminders", usecase="notifications")
    client.messaging.v1.services(service.sid).phone_numbers.create(phone_number_sid=number_sid(client, LOCAL))
    usecases = client.messaging.v1.services(service.sid).us_app_to_person_usecases.fetch(
        brand_registration_sid=brand.sid
    )
    assert "ACCOUNT_NOTIFICATION" in {u["code"] for u in usecases.us_app_to_person_usecases}
    campaign = client.messaging.v1.services(service.sid).us_app_to_person.create(
        brand_registration_sid=brand.sid, **CAMPAIGN
    )
    assert campaign.campaign_status == "IN_PROGRESS"
    still_blocked = client.messages.create(to=PATIENT, from_=LOCAL, body="Reminder")
    assert final_status(simulator, still_blocked.sid)["error_code"] == 30034
    wait_until(
        lambda: (
            client.messaging.v1.services(service.sid).us_app_to_person(campaign.sid).fetch().campaign_status
            == "VERIFIED"
        )
    )
    assert client.messaging.v1.services(service.sid).fetch().us_app_to_person_registered is True
    delivered = client.messages.create(to=PATIENT, from_=LOCAL, body="Reminder")
    assert final_status(simulator, delivered.sid)["status"] == "delivered"


def test_it_shows_a_filtered_message_with_its_error_code(simulator: SimulatorClient) -> None:
    simulator.reset(office())
    client = simulator.sdk()
    local = client.messages.create(to=PATIENT, from_=LOCAL, body="Reminder")
    toll_free = client.messages.create(to=PATIENT, from_=TOLL_FREE, body="Reminder")
    assert (final_status(simulator, local.sid)["status"], final_status(simulator, local.sid)["error_code"]) == (
        "undelivered",
        30034,
    )
    assert final_status(simulator, toll_free.sid)["error_code"] == 30032
    fetched = client.messages(toll_free.sid).fetch()
    assert (fetched.status, fetched.error_code, fetched.error_message) == (
        "undelivered",
        30032,
        "Toll-Free Number Has Not Been Verified",
    )


@pytest.mark.parametrize(
    ("numbers", "sender", "delivered"),
    [
        ([NumberConfig(CLINIC_NUMBER, registered=False)], CLINIC_NUMBER, True),  # Twilio's test number
        ([NumberConfig(LOCAL)], LOCAL, True),  # registered outside the simulator's view
        ([NumberConfig(TOLL_FREE)], TOLL_FREE, True),
        ([NumberConfig(LOCAL, registered=False)], LOCAL, False),
    ],
)
def test_carriers_filter_only_senders_not_registered(
    simulator: SimulatorClient, numbers: list[NumberConfig], sender: str, delivered: bool
) -> None:
    simulator.reset(replace(default_config(), accounts=[AccountConfig(numbers=numbers)]))
    sent = simulator.sdk().messages.create(to=PATIENT, from_=sender, body="Reminder")
    assert (final_status(simulator, sent.sid)["status"] == "delivered") is delivered


def test_a_number_bought_through_the_api_is_filtered_until_registered(simulator: SimulatorClient) -> None:
    client = simulator.sdk()
    bought = client.incoming_phone_numbers.create(area_code="303")
    sent = client.messages.create(to=PATIENT, from_=bought.phone_number, body="Reminder")
    assert final_status(simulator, sent.sid)["error_code"] == 30034


def test_a_toll_free_number_is_filtered_until_its_verification_is_approved(simulator: SimulatorClient) -> None:
    simulator.reset(office())
    client = simulator.sdk()
    verification = client.messaging.v1.tollfree_verifications.create(
        business_name="Riverside Family Medicine",
        business_website="https://riverside.example",
        notification_email="maria@riverside.example",
        use_case_categories=["ACCOUNT_NOTIFICATIONS"],
        use_case_summary="Appointment reminders",
        production_message_sample="Riverside: your visit is tomorrow at 9:00. Reply 1 to confirm.",
        opt_in_image_urls=["https://riverside.example/opt-in.png"],
        opt_in_type="VERBAL",
        message_volume="1,000",
        tollfree_phone_number_sid=number_sid(client, TOLL_FREE),
    )
    assert verification.status == "PENDING_REVIEW"
    pending = client.messages.create(to=PATIENT, from_=TOLL_FREE, body="Reminder")
    assert final_status(simulator, pending.sid)["error_code"] == 30032  # blocked while pending too
    reason = "Toll Free verification rejection - Opt-in not sufficient: Language Unclear"
    rejected = simulator.reject(verification.sid, 30513, reason, ("opt_in_image_urls",))
    assert rejected["status"] == "TWILIO_REJECTED" and rejected["edit_allowed"] is True
    fetched = client.messaging.v1.tollfree_verifications(verification.sid).fetch()
    assert (fetched.rejection_reason, fetched.error_code, fetched.edit_allowed) == (reason, 30513, True)
    assert fetched.edit_expiration is not None
    edited = client.messaging.v1.tollfree_verifications(verification.sid).update(
        opt_in_image_urls=["https://riverside.example/opt-in-v2.png"], edit_reason="clearer opt-in"
    )
    assert (edited.status, edited.rejection_reason, edited.opt_in_image_urls) == (
        "PENDING_REVIEW",
        None,
        ["https://riverside.example/opt-in-v2.png"],
    )
    simulator.approve(verification.sid)
    sent = client.messages.create(to=PATIENT, from_=TOLL_FREE, body="Reminder")
    assert final_status(simulator, sent.sid)["status"] == "delivered"
    listed = client.messaging.v1.tollfree_verifications.list(status="TWILIO_APPROVED")
    assert [v.sid for v in listed] == [verification.sid]


def test_a_toll_free_verification_rejected_for_good_cannot_be_edited(simulator: SimulatorClient) -> None:
    simulator.reset(office(registration="approved"))
    client = simulator.sdk()
    verification_sid = registration_sids(simulator.account_sid).tollfree_verification_sid(TOLL_FREE)
    simulator.reject(verification_sid, 30464, "Disallowed: Cryptocurrency", edit_allowed=False)
    error = rest_error(lambda: client.messaging.v1.tollfree_verifications(verification_sid).update(message_volume="10"))
    assert error.status == 400
    assert client.messaging.v1.tollfree_verifications(verification_sid).fetch().status == "TWILIO_REJECTED"
    client.messaging.v1.tollfree_verifications(verification_sid).delete()
    assert rest_error(lambda: client.messaging.v1.tollfree_verifications(verification_sid).fetch()).status == 404


def test_a_rejected_profile_says_why_and_is_resubmitted(simulator: SimulatorClient) -> None:
    simulator.reset(office())
    client = simulator.sdk()
    primary = registration_sids(simulator.account_sid).primary_profile_sid
    profile = build_profile(client, primary)
    client.trusthub.v1.customer_profiles(profile.sid).update(status="pending-review")
    frozen = rest_error(lambda: client.trusthub.v1.customer_profiles(profile.sid).update(friendly_name="Other"))
    assert (frozen.status, frozen.code) == (400, 60711)  # in review: nothing changes
    assert simulator.registration(profile.sid)["status"] == "pending-review"  # waits: reviews_approve is off
    simulator.reject(profile.sid, 22215, "The Business Registration Number does not match.", ("business_name",))
    rejected = client.trusthub.v1.customer_profiles(profile.sid).fetch()
    assert rejected.status == "twilio-rejected"
    assert rejected.errors == [
        {"code": 22215, "message": "The Business Registration Number does not match.", "fields": ["business_name"]}
    ]
    resubmitted = client.trusthub.v1.customer_profiles(profile.sid).update(status="pending-review")
    assert (resubmitted.status, resubmitted.errors) == ("pending-review", None)
    assert simulator.approve(profile.sid)["status"] == "twilio-approved"
    assert client.trusthub.v1.customer_profiles(profile.sid).fetch().valid_until is not None


def test_reviews_that_decide_by_themselves_reject_what_is_not_in_order(simulator: SimulatorClient) -> None:
    simulator.reset(office(reviews_approve=True, review_delay_s=0.1))
    client = simulator.sdk()
    incomplete = client.trusthub.v1.customer_profiles.create(
        friendly_name="Riverside", email="maria@riverside.example", policy_sid=SECONDARY_PROFILE_POLICY
    )
    client.trusthub.v1.customer_profiles(incomplete.sid).update(status="pending-review")
    orphan = client.messaging.v1.brand_registrations.create(
        customer_profile_bundle_sid="BU" + "0" * 32, a2p_profile_bundle_sid="BU" + "1" * 32
    )
    wait_until(lambda: client.trusthub.v1.customer_profiles(incomplete.sid).fetch().status == "twilio-rejected")
    [error] = client.trusthub.v1.customer_profiles(incomplete.sid).fetch().errors
    assert error["code"] == 22214 and "Business Information is missing" in error["message"]
    wait_until(lambda: client.messaging.v1.brand_registrations(orphan.sid).fetch().status == "FAILED")
    failed = client.messaging.v1.brand_registrations(orphan.sid).fetch()
    assert failed.errors[0]["error_code"] == 30793 and failed.failure_reason == failed.errors[0]["description"]


def test_a_failed_brand_is_resubmitted_at_most_three_times(simulator: SimulatorClient) -> None:
    simulator.reset(office(registration="approved"))
    client = simulator.sdk()
    sids = registration_sids(simulator.account_sid)
    brand = client.messaging.v1.brand_registrations.create(
        customer_profile_bundle_sid=sids.customer_profile_sid, a2p_profile_bundle_sid=sids.trust_product_sid
    )
    early = rest_error(lambda: client.messaging.v1.brand_registrations(brand.sid).update())
    assert early.code == 60723  # only a FAILED brand is resubmitted
    for _ in range(3):
        simulator.reject(brand.sid, 21736, "Domain Ownership Could Not Be Verified", ("brand_contact_email",))
        failed = client.messaging.v1.brand_registrations(brand.sid).fetch()
        assert (failed.status, failed.failure_reason, failed.identity_status) == (
            "FAILED",
            "Domain Ownership Could Not Be Verified",
            "UNVERIFIED",
        )
        assert failed.errors == [
            {
                "error_code": 21736,
                "fields": ["brand_contact_email"],
                "url": "https://www.twilio.com/docs/api/errors/21736",
                "description": "Domain Ownership Could Not Be Verified",
            }
        ]
        resubmitted = client.messaging.v1.brand_registrations(brand.sid).update()
        assert (resubmitted.status, resubmitted.errors) == ("PENDING", [])
    simulator.reject(brand.sid, 21736, "Domain Ownership Could Not Be Verified")
    assert rest_error(lambda: client.messaging.v1.brand_registrations(brand.sid).update()).code == 21724
    assert [b.sid for b in client.messaging.v1.brand_registrations.list()] == [sids.brand_sid, brand.sid]


def test_a_campaign_needs_an_approved_brand_and_a_failed_one_is_edited(simulator: SimulatorClient) -> None:
    simulator.reset(office(registration="approved"))
    client = simulator.sdk()
    sids = registration_sids(simulator.account_sid)
    service = client.messaging.v1.services.create(friendly_name="Second office")
    campaigns = client.messaging.v1.services(service.sid).us_app_to_person
    pending = client.messaging.v1.brand_registrations.create(
        customer_profile_bundle_sid=sids.customer_profile_sid, a2p_profile_bundle_sid=sids.trust_product_sid
    )
    assert rest_error(lambda: campaigns.create(brand_registration_sid=pending.sid, **CAMPAIGN)).code == 21717
    incomplete = {**CAMPAIGN, "message_flow": ""}  # the SDK insists on the argument, not on a value
    assert rest_error(lambda: campaigns.create(brand_registration_sid=sids.brand_sid, **incomplete)).code == 21727
    campaign = campaigns.create(brand_registration_sid=sids.brand_sid, **CAMPAIGN)
    simulator.reject(campaign.sid, 30886, "invalid campaign description", ("USE_CASE_DESCRIPTION",))
    failed = campaigns(campaign.sid).fetch()
    assert (failed.campaign_status, failed.campaign_id) == ("FAILED", None)
    assert failed.errors[0]["error_code"] == 30886 and failed.errors[0]["fields"] == ["USE_CASE_DESCRIPTION"]
    edited = campaigns(campaign.sid).update(
        has_embedded_links=False,
        has_embedded_phone=False,
        message_samples=CAMPAIGN["message_samples"],
        message_flow=CAMPAIGN["message_flow"],
        description="Reminders of booked visits, with confirm and cancel replies, for Riverside's patients.",
        age_gated=False,
        direct_lending=False,
    )
    assert (edited.campaign_status, edited.errors) == ("IN_PROGRESS", [])
    simulator.approve(campaign.sid)
    verified = campaigns(campaign.sid).fetch()
    assert verified.campaign_status == "VERIFIED" and verified.campaign_id
    assert [c.sid for c in campaigns.list()] == [campaign.sid]
    campaigns(campaign.sid).delete()
    assert campaigns.list() == []
