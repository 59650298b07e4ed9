"""The business profile's rules: what each field must look like, and whether the whole is ready to submit.

One home for them: the API and the configuration page validate each field with `check_field` as it is saved
(`save_profile` writes it), `problems` tells `reminders setup twilio --register` and the doctor what is still
missing. Messages never repeat
the value (an EIN is not a secret, but a contact's phone or email is personal data).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit
from ..models import BusinessProfile, BusinessType, JobPosition, Office, OptInType
from ..phones import InvalidPhoneNumber, to_e164

EIN = re.compile(r"^\d{2}-?\d{7}$")
ZIP = re.compile(r"^\d{5}(-\d{4})?$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_STATE_CODES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK "
    "OR PA PR RI SC SD TN TX UT VT VA WA WV WI WY"
)
US_STATES = frozenset(_STATE_CODES.split())
MIN_CONSENT_FLOW = 40  # Twilio's minimum for a campaign's message flow

REQUIRED = (
    "legal_name",
    "business_type",
    "ein",
    "street",
    "city",
    "region",
    "postal_code",
    "website",
    "privacy_policy_url",
    "contact_first_name",
    "contact_last_name",
    "contact_title",
    "contact_job_position",
    "contact_email",
    "contact_phone",
    "consent_flow",
    "terms_url",
)
REQUIRED_FOR_TOLLFREE = ("opt_in_type", "opt_in_url")
LABELS = {
    "legal_name": "legal business name",
    "business_type": "business type",
    "ein": "EIN",
    "street": "street address",
    "city": "city",
    "region": "state",
    "postal_code": "ZIP code",
    "website": "website",
    "privacy_policy_url": "privacy policy URL",
    "contact_first_name": "contact's first name",
    "contact_last_name": "contact's last name",
    "contact_title": "contact's job title",
    "contact_job_position": "contact's position (Director, GM, VP, CEO, CFO or General Counsel)",
    "contact_email": "contact's email",
    "contact_phone": "contact's phone",
    "consent_flow": "description of how patients agree to texts",
    "terms_url": "terms and conditions URL",
    "opt_in_type": "kind of consent (paper form, web form, verbal, by text or QR code)",
    "opt_in_url": "public page or image that shows how patients agree to texts",
    "monthly_volume": "expected texts a month",
}


def _ein(value: str) -> str:
    if not EIN.match(value):
        raise ValueError("give the 9-digit EIN as on the IRS letter, e.g. 12-3456789")
    digits = value.replace("-", "")
    return f"{digits[:2]}-{digits[2:]}"


def _url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or "." not in parts.hostname:
        raise ValueError("give the whole address, e.g. https://clinic.example.com/privacy")
    return value


def _email(value: str) -> str:
    if not EMAIL.match(value):
        raise ValueError("not an email address such as office@clinic.example.com")
    return value


def _phone(value: str) -> str:
    try:
        return to_e164(value)
    except InvalidPhoneNumber as exc:
        raise ValueError(f"{exc}; give it in E.164, e.g. +13035550142") from None


def _business_type(value: str) -> str:
    if value not in {t.value for t in BusinessType}:
        raise ValueError("one of: " + ", ".join(t.value for t in BusinessType))
    return value


def _one_of(choices: type[JobPosition] | type[OptInType]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in {c.value for c in choices}:
            raise ValueError("one of: " + ", ".join(c.value for c in choices))
        return value

    return check


def _region(value: str) -> str:
    if value.upper() not in US_STATES:
        raise ValueError("give the state's two-letter code, e.g. CO")
    return value.upper()


def _zip(value: str) -> str:
    if not ZIP.match(value):
        raise ValueError("give a 5-digit ZIP code, e.g. 80202")
    return value


def _consent_flow(value: str) -> str:
    if len(value) < MIN_CONSENT_FLOW:
        raise ValueError(
            f"say in at least {MIN_CONSENT_FLOW} characters how patients agree to texts, e.g. 'Patients give their "
            "mobile number on the intake form, which says the office will text appointment reminders'"
        )
    return value


CHECKS: dict[str, Callable[[str], str]] = {
    "ein": _ein,
    "website": _url,
    "privacy_policy_url": _url,
    "terms_url": _url,
    "opt_in_url": _url,
    "contact_job_position": _one_of(JobPosition),
    "opt_in_type": _one_of(OptInType),
    "contact_email": _email,
    "contact_phone": _phone,
    "business_type": _business_type,
    "region": _region,
    "postal_code": _zip,
    "consent_flow": _consent_flow,
}


def check_field(name: str, value: str) -> str:
    """The value as stored (normalized: EIN with its dash, phone in E.164), or ValueError saying what is wrong.
    An empty value is allowed here (a profile is filled in over time); `problems` reports what is missing."""
    value = value.strip()
    if not value or name not in CHECKS:
        return value
    return CHECKS[name](value)


def problems(profile: BusinessProfile | None, *, tollfree: bool = False) -> dict[str, str]:
    """Field -> what is missing or wrong; empty when the profile can be submitted (with `tollfree`, also for a
    toll-free number's verification)."""
    found: dict[str, str] = {}
    for name in REQUIRED + (REQUIRED_FOR_TOLLFREE if tollfree else ()):
        value = str(getattr(profile, name, "") or "").strip() if profile is not None else ""
        if not value:
            found[name] = f"the {LABELS[name]} is missing"
            continue
        try:
            check_field(name, value)
        except ValueError as exc:
            found[name] = str(exc)
    volume = profile.monthly_volume if profile is not None else None
    if not volume or volume < 1:
        found["monthly_volume"] = "give the number of texts the office expects to send a month"
    return found


def profile_of(db: Session, office: Office) -> BusinessProfile:
    """The office's profile, created empty on first use (the caller commits)."""
    profile = db.scalar(select(BusinessProfile).where(BusinessProfile.office_id == office.id))
    if profile is None:
        profile = BusinessProfile(office_id=office.id)
        db.add(profile)
        db.flush()
    return profile


def save_profile(db: Session, office: Office, values: Mapping[str, Any], actor: str) -> BusinessProfile:
    """Apply already-validated values (the API's schema runs `check_field`); audited with field names only."""
    profile = profile_of(db, office)
    changed = sorted(name for name, value in values.items() if getattr(profile, name) != value)
    for name in changed:
        setattr(profile, name, values[name])
    if changed:
        audit.record(db, office.id, actor, "update", "business_profile", profile.id, fields=changed)
    return profile
