"""A2P brand registrations (messaging.twilio.com/v1/a2p/BrandRegistrations) and toll-free verifications
(/v1/Tollfree/Verifications), reviewed as reviews.py says.

A FAILED brand may be resubmitted (the update call, which takes no parameters) up to three times: beyond that
21724, and a brand that has not failed answers 60723. A rejected toll-free verification may be edited and
resubmitted while `edit_allowed` and within its seven-day window (30824 after it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import reviews
from .forms import Param, read, require, text
from .registry import Brand, TollfreeVerification, is_toll_free
from .rest import ApiError, RestRequest, Result, Route, page_v1, route
from .shapes_messaging import brand_json, tollfree_json
from .state import new_sid, now

if TYPE_CHECKING:
    from .core import Simulator

ROUTES: list[Route] = []
SID = r"[0-9a-fA-F]{32}"
BRANDS = r"/v1/a2p/BrandRegistrations"
VERIFICATIONS = r"/v1/Tollfree/Verifications"

BRAND_BUNDLES = [Param("CustomerProfileBundleSid"), Param("A2PProfileBundleSid", key="a2p_profile_bundle_sid")]
BRAND_PARAMS = [
    *BRAND_BUNDLES,
    Param("BrandType", choices=frozenset({"STANDARD", "LOW_VOLUME_STANDARD", "SOLE_PROPRIETOR"})),
    Param("Mock", "bool"),
    Param("SkipAutomaticSecVet", "bool"),
]
TOLLFREE_REQUIRED = [
    *text("BusinessName", "BusinessWebsite", "NotificationEmail", "UseCaseSummary", "ProductionMessageSample"),
    Param(
        "UseCaseCategories",
        "list",
        frozenset(
            {
                "TWO_FACTOR_AUTHENTICATION",
                "ACCOUNT_NOTIFICATIONS",
                "CUSTOMER_CARE",
                "CHARITY_NONPROFIT",
                "DELIVERY_NOTIFICATIONS",
                "FRAUD_ALERT_MESSAGING",
                "EVENTS",
                "HIGHER_EDUCATION",
                "K12",
                "MARKETING",
                "POLLING_AND_VOTING_NON_POLITICAL",
                "POLITICAL_ELECTION_CAMPAIGNS",
                "PUBLIC_SERVICE_ANNOUNCEMENT",
                "SECURITY_ALERT",
            }
        ),
    ),
    Param("OptInImageUrls", "list"),
    Param(
        "OptInType",
        choices=frozenset(
            {"VERBAL", "WEB_FORM", "PAPER_FORM", "VIA_TEXT", "MOBILE_QR_CODE", "IMPORT", "IMPORT_PLEASE_REPLACE"}
        ),
    ),
    Param("MessageVolume"),
]
TOLLFREE_PARAMS = [
    *TOLLFREE_REQUIRED,
    *text(
        "BusinessStreetAddress",
        "BusinessStreetAddress2",
        "BusinessCity",
        "BusinessStateProvinceRegion",
        "BusinessPostalCode",
        "BusinessCountry",
        "AdditionalInformation",
        "BusinessContactFirstName",
        "BusinessContactLastName",
        "BusinessContactEmail",
        "BusinessContactPhone",
        "BusinessRegistrationNumber",
        "BusinessRegistrationCountry",
        "BusinessRegistrationPhoneNumber",
        "DoingBusinessAs",
        "OptInConfirmationMessage",
        "HelpMessageSample",
        "PrivacyPolicyUrl",
        "TermsAndConditionsUrl",
        "VettingId",
    ),
    Param(
        "BusinessRegistrationAuthority",
        choices=frozenset(
            {"EIN", "CBN", "CRN", "PROVINCIAL_NUMBER", "VAT", "ACN", "ABN", "BRN", "SIREN", "SIRET", "NZBN"}
            | {"USt-IdNr", "CIF", "NIF", "CNPJ", "UID", "NEQ", "OTHER"}
        ),
    ),
    Param(
        "BusinessType",
        choices=frozenset({"PRIVATE_PROFIT", "PUBLIC_PROFIT", "SOLE_PROPRIETOR", "NON_PROFIT", "GOVERNMENT"}),
    ),
    Param("VettingProvider", choices=frozenset({"CAMPAIGN_VERIFY"})),
    Param("AgeGatedContent", "bool"),
    Param("OptInKeywords", "list"),
]


# --- brands -----------------------------------------------------------------------------------------------------


@route(ROUTES, "POST", BRANDS, account_in_path=False)
def create_brand(sim: Simulator, req: RestRequest) -> Result:
    given = read(req, BRAND_PARAMS)
    require(given, BRAND_BUNDLES)
    brand = Brand(
        sid=new_sid("BN"),
        account_sid=req.account.sid,
        status=Brand.LIFECYCLE.submitted,
        customer_profile_bundle_sid=given["customer_profile_bundle_sid"],
        a2p_profile_bundle_sid=given["a2p_profile_bundle_sid"],
        brand_type=given.get("brand_type", "STANDARD"),
        mock=given.get("mock", False),
        skip_automatic_sec_vet=given.get("skip_automatic_sec_vet", False),
    )
    sim.registry.of(req.account.sid).brands[brand.sid] = brand
    reviews.submit(sim, brand)
    return 201, brand_json(brand, req.base_url)


@route(ROUTES, "GET", BRANDS, account_in_path=False)
def list_brands(sim: Simulator, req: RestRequest) -> Result:
    found = list(sim.registry.of(req.account.sid).brands.values())
    return page_v1(req, "data", found, lambda b: brand_json(b, req.base_url))


def _brand(sim: Simulator, req: RestRequest) -> Brand:
    brand = sim.registry.of(req.account.sid).brands.get(req.match["sid"])
    if brand is None:
        raise ApiError(20404, path=req.path)
    return brand


@route(ROUTES, "GET", BRANDS + rf"/(?P<sid>BN{SID})", account_in_path=False)
def fetch_brand(sim: Simulator, req: RestRequest) -> Result:
    return 200, brand_json(_brand(sim, req), req.base_url)


@route(ROUTES, "POST", BRANDS + rf"/(?P<sid>BN{SID})", account_in_path=False)
def resubmit_brand(sim: Simulator, req: RestRequest) -> Result:
    """After fixing the bundles it depends on, a FAILED brand is submitted again."""
    brand = _brand(sim, req)
    if not brand.rejected:
        raise ApiError(60723)
    if brand.updates >= Brand.FREE_UPDATES:
        raise ApiError(21724)
    brand.updates += 1
    reviews.submit(sim, brand)
    return 202, brand_json(brand, req.base_url)


# --- toll-free verifications ------------------------------------------------------------------------------------


@route(ROUTES, "POST", VERIFICATIONS, account_in_path=False)
def create_verification(sim: Simulator, req: RestRequest) -> Result:
    references = text("TollfreePhoneNumberSid", "CustomerProfileSid", "ExternalReferenceId")
    details = read(req, [*TOLLFREE_PARAMS, *references])
    require(details, [*TOLLFREE_REQUIRED, *text("TollfreePhoneNumberSid")])
    number = req.account.numbers.get(details.pop("tollfree_phone_number_sid"))
    if number is None or not is_toll_free(number.phone_number):
        raise ApiError(21421, value="TollfreePhoneNumberSid")
    verification = TollfreeVerification(
        sid=new_sid("HH"),
        account_sid=req.account.sid,
        status=TollfreeVerification.LIFECYCLE.submitted,
        tollfree_phone_number_sid=number.sid,
        tollfree_phone_number=number.phone_number,
        customer_profile_sid=details.pop("customer_profile_sid", None),
        external_reference_id=details.pop("external_reference_id", None),
        details=details,
    )
    sim.registry.of(req.account.sid).tollfree[verification.sid] = verification
    reviews.submit(sim, verification)
    return 201, tollfree_json(verification, req.base_url)


@route(ROUTES, "GET", VERIFICATIONS, account_in_path=False)
def list_verifications(sim: Simulator, req: RestRequest) -> Result:
    number, status, reference = req.arg("TollfreePhoneNumberSid"), req.arg("Status"), req.arg("ExternalReferenceId")
    found = [
        v
        for v in sim.registry.of(req.account.sid).tollfree.values()
        if number in (None, v.tollfree_phone_number_sid)
        and status in (None, v.status)
        and reference in (None, v.external_reference_id)
    ]
    return page_v1(req, "verifications", found, lambda v: tollfree_json(v, req.base_url))


def _verification(sim: Simulator, req: RestRequest) -> TollfreeVerification:
    verification = sim.registry.of(req.account.sid).tollfree.get(req.match["sid"])
    if verification is None:
        raise ApiError(20404, path=req.path)
    return verification


@route(ROUTES, "GET", VERIFICATIONS + rf"/(?P<sid>HH{SID})", account_in_path=False)
def fetch_verification(sim: Simulator, req: RestRequest) -> Result:
    return 200, tollfree_json(_verification(sim, req), req.base_url)


@route(ROUTES, "POST", VERIFICATIONS + rf"/(?P<sid>HH{SID})", account_in_path=False)
def edit_verification(sim: Simulator, req: RestRequest) -> Result:
    """Correct a rejected verification that allows edits, and resubmit it."""
    verification = _verification(sim, req)
    if verification.rejected and verification.edit_allowed and not verification.editable:
        raise ApiError(30824)
    if not verification.editable:
        raise ApiError(20001, message=f"This verification ({verification.status}) does not allow edits")
    verification.details.update(read(req, TOLLFREE_PARAMS))
    verification.date_updated = now()
    reviews.submit(sim, verification)
    return 202, tollfree_json(verification, req.base_url)


@route(ROUTES, "DELETE", VERIFICATIONS + rf"/(?P<sid>HH{SID})", account_in_path=False)
def delete_verification(sim: Simulator, req: RestRequest) -> Result:
    verification = _verification(sim, req)
    del sim.registry.of(req.account.sid).tollfree[verification.sid]
    return 204, None
