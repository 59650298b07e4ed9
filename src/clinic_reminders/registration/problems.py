"""What Twilio says is wrong with a registration, as problems a person can act on: Twilio's error code, the field
of the business profile at fault, what it means and how to fix it.

A problem is a dict `{"code": int | None, "field": str, "description": str}` (what `Registration.problems` holds);
`fix(problem)` looks its fix up here, so the table is the one home of the advice. Codes and their meaning come from
Twilio's error pages (twilio.com/docs/api/errors/<code>); a code not listed keeps Twilio's own description and
points at that page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Problem = dict[str, Any]
MAX_DESCRIPTION = 300


@dataclass(frozen=True)
class Known:
    field: str  # the business profile's field, or "" when none is at fault
    meaning: str
    fix: str


_PROFILE = "correct it in the business profile (configuration page), then run `reminders setup twilio --register`"
_SUPPORT = "contact Twilio Support with the registration's SID (console.twilio.com → Help)"
_RETRY = "run `reminders setup twilio --register` again in a minute"
_REGISTER = "run `reminders setup twilio --register` again"
_TEMPLATES = (
    "make the office's SMS templates name the office and say STOP, then run `reminders setup twilio --register`"
)

KNOWN: dict[int, Known] = {
    21717: Known(
        "", "the brand is not approved yet, so no campaign can be registered", "wait for the brand's approval"
    ),
    21727: Known("", "the campaign lacks a required field", _PROFILE),
    21728: Known("", "a campaign field is too short or too long", _PROFILE),
    21736: Known("contact_email", "the brand's contact email is invalid", _PROFILE),
    22215: Known("", "a required piece of business information is missing", _PROFILE),
    22217: Known("", "a document does not match the business information", _PROFILE),
    22219: Known("street", "the business address is missing or invalid", _PROFILE),
    30451: Known("street", "the business address could not be validated", _PROFILE),
    30511: Known("consent_flow", "verbal consent is declared but no script shows it", _PROFILE),
    30513: Known("consent_flow", "the opt-in wording does not clearly ask for consent to texts", _PROFILE),
    30544: Known("consent_flow", "the call to action does not say what the texts are for", _PROFILE),
    30545: Known("consent_flow", "the call to action does not say how often texts come", _PROFILE),
    30702: Known(
        "", "The Campaign Registry no longer knows the brand", "run `reminders setup twilio --register` again"
    ),
    30729: Known("country", "the business address's country is not allowed", _PROFILE),
    30790: Known("", "Twilio had an internal error with the brand", _SUPPORT),
    30791: Known("", "Twilio had a temporary error with the brand", _RETRY),
    30792: Known("", "Twilio had a general error with the brand", _SUPPORT),
    30799: Known("ein", "the EIN or the legal name could not be verified (they must match the IRS letter)", _PROFILE),
    30824: Known("", "the rejected verification was not corrected within 7 days", "submit it again as a new one"),
    30831: Known("consent_flow", "express consent is required: a phone number alone is not consent", _PROFILE),
    30837: Known("opt_in_url", "the opt-in example is incomplete, unbranded or illegible", _PROFILE),
    30841: Known("consent_flow", "the opt-in wording does not clearly ask for consent to texts", _PROFILE),
    30842: Known("opt_in_url", "no proof of how patients opt in was given", _PROFILE),
    30879: Known("", "the toll-free number is not provisioned at Twilio", _SUPPORT),
    30885: Known("", "the campaign was judged high risk and may not be resubmitted", _SUPPORT),
    30886: Known("", "the campaign description is not specific enough", _SUPPORT),
    30889: Known(
        "", "the samples do not show the phone number the campaign declares", "check the office's SMS templates"
    ),
    30893: Known("", "the sample texts do not match the use case", "check the office's SMS templates"),
    30899: Known("", "a carrier rejected the campaign", _SUPPORT),
    30900: Known("", "the use case is not allowed for this brand", _SUPPORT),
    30901: Known("", "the campaign's review timed out", _REGISTER),
    30902: Known("", "a carrier's registry rejected the campaign", _SUPPORT),
}

# Twilio's field names (Trust Hub attributes, toll-free fields, campaign fields) -> the business profile's.
FIELDS = {
    "business_name": "legal_name",
    "business_type": "business_type",
    "business_registration_number": "ein",
    "website_url": "website",
    "business_website": "website",
    "first_name": "contact_first_name",
    "last_name": "contact_last_name",
    "email": "contact_email",
    "brand_contact_email": "contact_email",
    "business_contact_email": "contact_email",
    "phone_number": "contact_phone",
    "business_contact_phone": "contact_phone",
    "business_title": "contact_title",
    "job_position": "contact_job_position",
    "address_sids": "street",
    "street": "street",
    "business_street_address": "street",
    "city": "city",
    "business_city": "city",
    "region": "region",
    "business_state_province_region": "region",
    "postal_code": "postal_code",
    "business_postal_code": "postal_code",
    "iso_country": "country",
    "message_flow": "consent_flow",
    "opt_in_image_urls": "opt_in_url",
    "opt_in_type": "opt_in_type",
    "privacy_policy_url": "privacy_policy_url",
    "terms_and_conditions_url": "terms_url",
}


def _code(item: dict[str, Any]) -> int | None:
    for key in ("code", "error_code", "registrationerrorcode"):
        try:
            return int(item[key])
        except (KeyError, TypeError, ValueError):
            continue
    return None


def _field(item: dict[str, Any], code: int | None) -> str:
    named = item.get("fields") or item.get("field") or item.get("object_field") or []
    for name in [named] if isinstance(named, str) else list(named):
        if str(name).lower() in FIELDS:
            return FIELDS[str(name).lower()]
    return KNOWN[code].field if code in KNOWN else ""


def _description(item: dict[str, Any], code: int | None) -> str:
    if code in KNOWN:
        return KNOWN[code].meaning
    for key in ("description", "failure_reason", "reason", "message", "registrationerrordescription"):
        if item.get(key):
            return str(item[key])[:MAX_DESCRIPTION]
    return "Twilio did not say why"


def problem(item: dict[str, Any]) -> Problem:
    code = _code(item)
    return {"code": code, "field": _field(item, code), "description": _description(item, code)}


def from_errors(items: list[dict[str, Any]]) -> list[Problem]:
    """A brand's, campaign's or bundle's `errors`, or a toll-free verification's `rejection_reasons`."""
    return [problem(item) for item in items]


def from_evaluation(results: list[dict[str, Any]]) -> list[Problem]:
    """The failed requirements of a Trust Hub evaluation, one problem per invalid field."""
    found: list[Problem] = []
    for requirement in results:
        if requirement.get("passed"):
            continue
        invalid = [i for i in requirement.get("invalid") or [] if isinstance(i, dict)]
        found += [problem(item) for item in invalid] or [problem(requirement)]
    return found


def from_failure(reason: str | None, code: int | None = None) -> list[Problem]:
    """A rejection given as a single reason (a brand's `failure_reason`, a verification's `rejection_reason`)."""
    if not reason and code is None:
        return []
    return [problem({"code": code, "description": reason})]


def fix(found: Problem) -> str:
    code = found.get("code")
    if isinstance(code, int) and code in KNOWN:
        return KNOWN[code].fix
    where = f"Twilio's page for error {code} (twilio.com/docs/api/errors/{code})" if code else "the Twilio console"
    return f"see {where}; then {_PROFILE}"


def summary(problems: list[Problem]) -> str:
    """One line for staff: each problem with its code and the field at fault."""
    parts = []
    for found in problems:
        code = f"Twilio error {found['code']}: " if found.get("code") else ""
        field = f" (field: {found['field']})" if found.get("field") else ""
        parts.append(f"{code}{found.get('description', '')}{field}")
    return "; ".join(parts)
