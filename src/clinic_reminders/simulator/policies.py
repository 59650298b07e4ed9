"""Trust Hub policies: what a bundle must hold, and the evaluation that says what is missing.

The secondary customer profile policy's SID, name and requirements are those printed in Twilio's Policies
resource docs; the A2P trust product policy's SID and end-user type are those of Twilio's ISV onboarding guide
(its attribute list here is `company_type`, with the stock fields a public company adds, and
`brand_contact_email`). The primary profile policy SID is the one ISV code in public use sends; Twilio's docs
do not print it. A secondary profile's primary profile must be approved already (the ISV guide's prerequisite);
a trust product's customer profile need only be assigned (the guide builds the trust product right after
submitting the profile). Evaluation results follow the shape of Twilio's evaluation examples, with their
codes: 22214 an end-user missing, 22215 a field missing on it, 22216 a document or profile missing, 22217 a
field missing on a document.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .registry import Bundle, CustomerProfile, RegistrationStore, Registry

PRIMARY_PROFILE_POLICY = "RN6433641899984f951173ef1738c3bdd0"
SECONDARY_PROFILE_POLICY = "RNdfbf3fae0e1107f8aded0e7cead80bf5"
A2P_TRUST_PRODUCT_POLICY = "RNb0d4771c2c98518d916a3d4cd70a8f8b"


@dataclass(frozen=True, slots=True)
class Requirement:
    """One thing a policy asks for: an end-user or document of a type with fields, or another bundle."""

    section: str  # end_user | supporting_document | supporting_customer_profiles
    requirement_name: str
    name: str
    type: str  # end-user type, document type, or the bundle type
    fields: tuple[str, ...] = ()
    required_fields: tuple[str, ...] = ()
    optional: bool = False
    approved: bool = False  # a supporting bundle that must already be twilio-approved


@dataclass(frozen=True, slots=True)
class Policy:
    sid: str
    friendly_name: str
    requirements: tuple[Requirement, ...]


BUSINESS_FIELDS = (
    "business_type",
    "business_registration_number",
    "business_name",
    "business_registration_identifier",
    "business_identity",
    "business_industry",
    "website_url",
    "business_regions_of_operation",
    "social_media_profile_urls",
)
PUBLIC_FIELDS = ("stock_exchange", "stock_ticker")
REPRESENTATIVE_FIELDS = ("first_name", "last_name", "email", "phone_number", "business_title", "job_position")


def _representative(number: int, *, optional: bool) -> Requirement:
    name = f"authorized_representative_{number}"
    return Requirement(
        "end_user",
        name,
        f"Authorized Representative #{number}",
        name,
        REPRESENTATIVE_FIELDS,
        REPRESENTATIVE_FIELDS,
        optional=optional,
    )


POLICIES: dict[str, Policy] = {
    p.sid: p
    for p in (
        Policy(
            PRIMARY_PROFILE_POLICY,
            "Primary Customer Profile of type Business",
            (
                Requirement(
                    "end_user",
                    "customer_profile_business_information",
                    "Business Information",
                    "customer_profile_business_information",
                    BUSINESS_FIELDS,
                    BUSINESS_FIELDS[:-1],
                ),
                _representative(1, optional=False),
            ),
        ),
        Policy(
            SECONDARY_PROFILE_POLICY,
            "Secondary Customer Profile of type Business",
            (
                Requirement(
                    "end_user",
                    "customer_profile_business_information",
                    "Business Information",
                    "customer_profile_business_information",
                    BUSINESS_FIELDS,
                    BUSINESS_FIELDS[:-1],
                ),
                _representative(1, optional=False),
                _representative(2, optional=True),
                Requirement(
                    "supporting_document",
                    "customer_profile_address",
                    "Physical Business Address",
                    "customer_profile_address",
                    ("address_sids",),
                    ("address_sids",),
                ),
                Requirement(
                    "supporting_customer_profiles",
                    "primary_customer_profile",
                    "Primary Customer Profile Bundle",
                    "primary_customer_profile_type_business",
                    approved=True,
                ),
            ),
        ),
        Policy(
            A2P_TRUST_PRODUCT_POLICY,
            "A2P Messaging: Local - Business",
            (
                Requirement(
                    "end_user",
                    "us_a2p_messaging_profile_information",
                    "US A2P Messaging Profile Information",
                    "us_a2p_messaging_profile_information",
                    ("company_type", "stock_exchange", "stock_ticker", "brand_contact_email"),
                    ("company_type",),
                ),
                Requirement(
                    "supporting_customer_profiles",
                    "customer_profile",
                    "Secondary Customer Profile Bundle",
                    "secondary_customer_profile_type_business",
                ),
            ),
        ),
    )
}
PROFILE_TYPES = {
    PRIMARY_PROFILE_POLICY: "primary_customer_profile_type_business",
    SECONDARY_PROFILE_POLICY: "secondary_customer_profile_type_business",
}


def policy_json(policy: Policy, base_url: str) -> dict[str, Any]:
    sections: dict[str, list[Any]] = {
        "end_user": [],
        "supporting_trust_products": [],
        "supporting_document": [],
        "supporting_customer_profiles": [],
    }
    for r in policy.requirements:
        if r.section == "end_user":
            sections["end_user"].append(
                {
                    "url": f"/EndUserTypes/{r.type}",
                    "fields": list(r.fields),
                    "type": r.type,
                    "name": r.name,
                    "requirement_name": r.requirement_name,
                }
            )
        elif r.section == "supporting_document":
            accepted = {"url": f"/SupportingDocumentTypes/{r.type}", "fields": list(r.fields), "type": r.type}
            sections["supporting_document"].append(
                [
                    {
                        "description": r.name,
                        "type": "document",
                        "name": r.name,
                        "accepted_documents": [{**accepted, "name": r.name}],
                        "requirement_name": r.requirement_name,
                    }
                ]
            )
        else:
            sections[r.section].append({"type": r.type, "name": r.name, "requirement_name": r.requirement_name})
    return {
        "sid": policy.sid,
        "friendly_name": policy.friendly_name,
        "requirements": sections,
        "url": f"{base_url}/v1/Policies/{policy.sid}",
    }


def evaluate(bundle: Bundle, policy: Policy, registry: Registry, store: RegistrationStore) -> list[dict[str, Any]]:
    """One result per requirement of `policy`, judged on what `bundle` holds."""
    results = []
    for requirement in policy.requirements:
        attributes = _find(requirement, bundle, registry, store)
        if attributes is None and requirement.optional:
            continue
        results.append(_result(requirement, attributes))
    return results


def compliant(results: list[dict[str, Any]]) -> bool:
    return all(r["passed"] for r in results)


def _find(
    requirement: Requirement, bundle: Bundle, registry: Registry, store: RegistrationStore
) -> dict[str, Any] | None:
    """The attributes of the assigned object that meets `requirement` (a bundle has none), or None."""
    for sid in bundle.assigned():
        if requirement.section == "end_user":
            user = registry.end_users.get(sid)
            if user is not None and user.type == requirement.type:
                return user.attributes
        elif requirement.section == "supporting_document":
            document = registry.documents.get(sid)
            if document is not None and document.type == requirement.type:
                return document.attributes
        else:
            profile = store.profile_anywhere(sid)
            if (
                profile is not None
                and _is(profile, requirement.type)
                and (profile.approved or not requirement.approved)
            ):
                return {}
    return None


def _is(profile: CustomerProfile, profile_type: str) -> bool:
    return PROFILE_TYPES.get(profile.policy_sid) == profile_type


def _result(requirement: Requirement, attributes: dict[str, Any] | None) -> dict[str, Any]:
    on_user = requirement.section == "end_user"
    article = "An" if requirement.name[0] in "AEIOU" else "A"
    missing_code = 22214 if on_user else 22216
    field_code = 22215 if on_user else 22217
    checked = _required(requirement, attributes)
    present = [f for f in checked if attributes is not None and attributes.get(f) not in (None, "")]
    invalid = [
        {
            "friendly_name": _title(f),
            "object_field": f,
            "failure_reason": f"The {_title(f)} is missing. Please enter in a {_title(f)} on the {requirement.name}.",
            "error_code": field_code,
        }
        for f in checked
        if f not in present
    ]
    if attributes is None:
        failure: str | None = f"{article} {requirement.name} is missing. Please add one to the regulatory bundle."
        code: int | None = missing_code
    elif invalid:
        failure, code = str(invalid[0]["failure_reason"]), field_code
    else:
        failure = code = None
    return {
        "friendly_name": requirement.name,
        "object_type": requirement.type,
        "passed": failure is None,
        "failure_reason": failure,
        "error_code": code,
        "valid": [
            {"friendly_name": _title(f), "object_field": f, "failure_reason": None, "error_code": None} for f in present
        ],
        "invalid": invalid,
        "requirement_friendly_name": requirement.name,
        "requirement_name": requirement.requirement_name,
    }


def _required(requirement: Requirement, attributes: dict[str, Any] | None) -> list[str]:
    """The fields that must have a value; a public company also gives its stock exchange and ticker."""
    public = (attributes or {}).get("company_type") == "public"
    return [f for f in requirement.fields if f in requirement.required_fields or (public and f in PUBLIC_FIELDS)]


def _title(field_name: str) -> str:
    return field_name.replace("_", " ").title().replace("Sids", "sid(s)")
