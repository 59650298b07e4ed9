"""The simulator's Messaging Service, A2P and Trust Hub answers against the response schemas of Twilio's specs
(shared/twilio-oai/twilio_messaging_v1.json, twilio_trusthub_v1.json), as test_conformance.py does for the
2010 API: every field valid, every declared field present."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from clinic_reminders.simulator.policies import A2P_TRUST_PRODUCT_POLICY, SECONDARY_PROFILE_POLICY
from clinic_reminders.simulator.seeding import registration_sids
from tests.fixtures.prism import SPEC_DIR
from tests.fixtures.simulator import PATIENT, SimulatorClient
from tests.integration.test_conformance import SpecValidator
from tests.integration.test_simulator_registration import CAMPAIGN, LOCAL, TOLL_FREE, office

# A UsAppToPerson answer is oneOf Twilio's v1 shape and its v2 shape (v2 adds the policy URLs), and the base
# check cannot see through a oneOf which declared fields are left out: check them against v2, the shape the
# simulator answers with.
USA2P_V2 = "urn:twilio:messaging#/components/schemas/messaging.v1.service.us_app_to_person_v2"


class RegistrationSpec(SpecValidator):
    def problems(self, template: str, method: str, status: int, instance: Any, *, complete: bool = True) -> list[str]:
        found = super().problems(template, method, status, instance, complete=complete)
        if not complete or "/Compliance/Usa2p" not in template or template.endswith("/Usecases"):
            return found
        items = instance.get("compliance", [instance]) if isinstance(instance, dict) else []
        return found + [m for item in items for m in self._missing({"$ref": USA2P_V2}, item)]


@pytest.fixture(scope="module")
def spec() -> RegistrationSpec:
    names = {"messaging": "twilio_messaging_v1.json", "trusthub": "twilio_trusthub_v1.json"}
    return RegistrationSpec(
        {domain: SPEC_DIR / name for domain, name in {**names, "api": "twilio_api_v2010.json"}.items()}
    )


def test_the_registration_answers_match_the_specs(simulator: SimulatorClient, spec: RegistrationSpec) -> None:
    simulator.reset(office(registration="approved"))
    http = httpx.Client(base_url=simulator.base_url, auth=(simulator.account_sid, simulator.auth_token), timeout=30)
    sids = registration_sids(simulator.account_sid)

    def check(method: str, path: str, template: str, status: int, data: dict[str, Any] | None = None) -> Any:
        response = http.request(method, path, data=data)
        assert response.status_code == status, response.text
        if status == 204:
            return None
        problems = spec.problems(template, method, status, response.json())
        assert problems == [], f"{method} {template}: {problems}"
        return response.json()

    check("GET", "/v1/Policies", "/v1/Policies", 200)
    check("GET", f"/v1/Policies/{SECONDARY_PROFILE_POLICY}", "/v1/Policies/{Sid}", 200)
    user = check(
        "POST", "/v1/EndUsers", "/v1/EndUsers", 201, {"FriendlyName": "Rep", "Type": "authorized_representative_1"}
    )
    check("GET", "/v1/EndUsers", "/v1/EndUsers", 200)
    check("POST", f"/v1/EndUsers/{user['sid']}", "/v1/EndUsers/{Sid}", 200, {"Attributes": '{"first_name": "M"}'})
    document = check(
        "POST",
        "/v1/SupportingDocuments",
        "/v1/SupportingDocuments",
        201,
        {"FriendlyName": "Office", "Type": "customer_profile_address", "Attributes": '{"address_sids": "AD1"}'},
    )
    check("GET", "/v1/SupportingDocuments", "/v1/SupportingDocuments", 200)
    check("GET", f"/v1/SupportingDocuments/{document['sid']}", "/v1/SupportingDocuments/{Sid}", 200)

    for collection, policy, owner in (
        ("CustomerProfiles", SECONDARY_PROFILE_POLICY, "CustomerProfileSid"),
        ("TrustProducts", A2P_TRUST_PRODUCT_POLICY, "TrustProductSid"),
    ):
        root = f"/v1/{collection}"
        bundle = check("POST", root, root, 201, {"FriendlyName": "B", "Email": "b@c.example", "PolicySid": policy})
        here, template = f"{root}/{bundle['sid']}", root + "/{Sid}"
        check("GET", f"{root}?Status=draft", root, 200)
        check("POST", here, template, 200, {"FriendlyName": "Bundle"})
        nested = root + "/{" + owner + "}"
        assigned = check(
            "POST", f"{here}/EntityAssignments", nested + "/EntityAssignments", 201, {"ObjectSid": user["sid"]}
        )
        check("GET", f"{here}/EntityAssignments", nested + "/EntityAssignments", 200)
        check("GET", f"{here}/EntityAssignments/{assigned['sid']}", nested + "/EntityAssignments/{Sid}", 200)
        evaluation = check("POST", f"{here}/Evaluations", nested + "/Evaluations", 201, {"PolicySid": policy})
        assert evaluation["status"] == "noncompliant" and evaluation["results"]
        check("GET", f"{here}/Evaluations", nested + "/Evaluations", 200)
        check("GET", f"{here}/Evaluations/{evaluation['sid']}", nested + "/Evaluations/{Sid}", 200)
        check("POST", here, template, 200, {"Status": "pending-review"})
        simulator.reject(bundle["sid"], 22214, "A Business Information is missing.")
        check("GET", here, template, 200)
        check("DELETE", here, template, 204)

    brands = "/v1/a2p/BrandRegistrations"
    profiles = {"CustomerProfileBundleSid": sids.customer_profile_sid, "A2PProfileBundleSid": sids.trust_product_sid}
    brand = check("POST", brands, brands, 201, profiles)
    check("GET", brands, brands, 200)
    simulator.reject(brand["sid"], 21736, "Domain Ownership Could Not Be Verified", ("brand_contact_email",))
    check("GET", f"{brands}/{brand['sid']}", brands + "/{Sid}", 200)
    check("POST", f"{brands}/{brand['sid']}", brands + "/{Sid}", 202)

    service = check("POST", "/v1/Services", "/v1/Services", 201, {"FriendlyName": "Reminders"})
    here = f"/v1/Services/{service['sid']}"
    check("GET", "/v1/Services", "/v1/Services", 200)
    check(
        "POST", here, "/v1/Services/{Sid}", 200, {"InboundRequestUrl": "https://c.example/in", "InboundMethod": "GET"}
    )
    check("GET", "/v1/Services/Usecases", "/v1/Services/Usecases", 200)
    numbers = http.get(f"/2010-04-01/Accounts/{simulator.account_sid}/IncomingPhoneNumbers.json").json()
    local = next(n["sid"] for n in numbers["incoming_phone_numbers"] if n["phone_number"] == LOCAL)
    pool = "/v1/Services/{ServiceSid}/PhoneNumbers"
    check("DELETE", f"/v1/Services/{sids.messaging_service_sid}/PhoneNumbers/{local}", pool + "/{Sid}", 204)
    check("POST", f"{here}/PhoneNumbers", pool, 201, {"PhoneNumberSid": local})
    check("GET", f"{here}/PhoneNumbers", pool, 200)
    check("GET", f"{here}/PhoneNumbers/{local}", pool + "/{Sid}", 200)
    message = check(
        "POST",
        f"/2010-04-01/Accounts/{simulator.account_sid}/Messages.json",
        "/2010-04-01/Accounts/{AccountSid}/Messages.json",
        201,
        {"To": PATIENT, "MessagingServiceSid": service["sid"], "Body": "Reminder"},
    )
    assert message["messaging_service_sid"] == service["sid"]

    campaigns, template = f"{here}/Compliance/Usa2p", "/v1/Services/{MessagingServiceSid}/Compliance/Usa2p"
    fields = {"MessageFlow": CAMPAIGN["message_flow"], "Description": CAMPAIGN["description"]}
    created = {
        **fields,
        "BrandRegistrationSid": sids.brand_sid,
        "MessageSamples": CAMPAIGN["message_samples"],
        "UsAppToPersonUsecase": "ACCOUNT_NOTIFICATION",
        "HasEmbeddedLinks": "false",
        "HasEmbeddedPhone": "false",
    }
    campaign = check("POST", campaigns, template, 201, created)
    check("GET", campaigns, template, 200)
    check("GET", f"{campaigns}/Usecases?BrandRegistrationSid={sids.brand_sid}", template + "/Usecases", 200)
    simulator.reject(campaign["sid"], 30886, "invalid campaign description", ("USE_CASE_DESCRIPTION",))
    check("GET", f"{campaigns}/{campaign['sid']}", template + "/{Sid}", 200)
    edit = {**created, "AgeGated": "false", "DirectLending": "false"}
    check("POST", f"{campaigns}/{campaign['sid']}", template + "/{Sid}", 200, edit)
    check("DELETE", f"{campaigns}/{campaign['sid']}", template + "/{Sid}", 204)

    verifications = "/v1/Tollfree/Verifications"
    toll_free = next(n["sid"] for n in numbers["incoming_phone_numbers"] if n["phone_number"] == TOLL_FREE)
    verification = check(
        "POST",
        verifications,
        verifications,
        201,
        {
            "BusinessName": "Riverside",
            "BusinessWebsite": "https://riverside.example",
            "NotificationEmail": "m@riverside.example",
            "UseCaseCategories": ["ACCOUNT_NOTIFICATIONS"],
            "UseCaseSummary": "Appointment reminders",
            "ProductionMessageSample": "Your visit is tomorrow at 9:00.",
            "OptInImageUrls": ["https://riverside.example/opt-in.png"],
            "OptInType": "VERBAL",
            "MessageVolume": "1,000",
            "TollfreePhoneNumberSid": toll_free,
            "BusinessType": "PRIVATE_PROFIT",
        },
    )
    check("GET", f"{verifications}?TollfreePhoneNumberSid={toll_free}", verifications, 200)
    simulator.reject(verification["sid"], 30513, "Opt-in not sufficient: Language Unclear", ("opt_in_image_urls",))
    check("GET", f"{verifications}/{verification['sid']}", verifications + "/{Sid}", 200)
    check("POST", f"{verifications}/{verification['sid']}", verifications + "/{Sid}", 202, {"MessageVolume": "10"})
    check("DELETE", f"{verifications}/{verification['sid']}", verifications + "/{Sid}", 204)
    check("DELETE", here, "/v1/Services/{Sid}", 204)


def test_a_campaign_answer_is_checked_whole_through_the_specs_oneof(spec: RegistrationSpec) -> None:
    template = "/v1/Services/{MessagingServiceSid}/Compliance/Usa2p/{Sid}"
    complete = {name: None for name in spec.registry.resolver().lookup(USA2P_V2).contents["properties"]}
    assert spec.problems(template, "get", 200, complete) == []
    assert spec.problems(template, "get", 200, {**complete, "campaign_status": 5}) != []
    without_errors = {k: v for k, v in complete.items() if k != "errors"}
    assert spec.problems(template, "get", 200, without_errors) == ["missing field 'errors'"]


def test_the_address_answers_match_the_2010_spec(simulator: SimulatorClient, spec: RegistrationSpec) -> None:
    """The customer profile's address document points at a 2010-API Address."""
    account = simulator.account_sid
    http = httpx.Client(base_url=simulator.base_url, auth=(account, simulator.auth_token), timeout=30)
    base = f"/2010-04-01/Accounts/{account}/Addresses"
    template = "/2010-04-01/Accounts/{AccountSid}/Addresses"
    fields = {
        "CustomerName": "Riverside Family Medicine LLC",
        "Street": "100 River Road",
        "City": "Denver",
        "Region": "CO",
        "PostalCode": "80202",
        "IsoCountry": "US",
    }
    created = http.post(f"{base}.json", data=fields)
    assert created.status_code == 201, created.text
    assert spec.problems(f"{template}.json", "POST", 201, created.json()) == []
    sid = created.json()["sid"]
    updated = http.post(f"{base}/{sid}.json", data={"Street": "200 River Road"})
    assert updated.json()["street"] == "200 River Road"
    assert spec.problems(f"{template}/{{Sid}}.json", "POST", 200, updated.json()) == []
    listed = http.get(f"{base}.json").json()
    assert [a["sid"] for a in listed["addresses"]] == [sid]
    assert spec.problems(f"{template}.json", "GET", 200, listed) == []
    missing = http.post(f"{base}.json", data={"CustomerName": "x"})
    assert missing.status_code == 400 and missing.json()["code"] == 20001
