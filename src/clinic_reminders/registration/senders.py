"""Would carriers take texts from this number? If not, why, in words staff can read.

A US local number (10DLC) needs the office's A2P 10DLC brand and campaign approved; a toll-free number needs its
own verification approved; other senders (numbers outside the US, Twilio's test numbers) need neither. A number
carriers refused (30034/30032) although we thought it registered stays held until a registration is approved again
or `reminders setup twilio` has put it right. Voice calls need no registration.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from ..models import Registration, RegistrationKind, RegistrationState
from ..phones import display

# The reason a held reminder carries; pages and the doctor count the reminders that carry it.
WAITING_FOR_REGISTRATION = "texts wait for carrier registration"
TWILIO_TEST_PREFIX = "+1500555"  # Twilio's test-credential numbers (+15005550006...): no carrier ever sees them


class SenderKind(StrEnum):
    LOCAL = "local"  # US 10DLC: needs an approved A2P 10DLC campaign
    TOLL_FREE = "toll_free"  # needs an approved toll-free verification
    EXEMPT = "exempt"  # outside US carrier registration


def sender_kind(number: str) -> SenderKind:
    if number.startswith(TWILIO_TEST_PREFIX):
        return SenderKind.EXEMPT
    try:
        parsed = phonenumbers.parse(number)
    except NumberParseException:
        return SenderKind.EXEMPT  # a short code or an alphanumeric sender: not ours to register
    if phonenumbers.region_code_for_number(parsed) != "US":
        return SenderKind.EXEMPT
    if phonenumbers.number_type(parsed) == PhoneNumberType.TOLL_FREE:
        return SenderKind.TOLL_FREE
    return SenderKind.LOCAL


def _day(registration: Registration) -> str:
    moment = registration.submitted_at or registration.state_changed_at
    return f"{moment:%b} {moment.day}"


def _described(what: str, registration: Registration | None) -> str | None:
    """None when approved; otherwise what is holding texts back."""
    if registration is None or registration.state == RegistrationState.DRAFT:
        return f"{what} not submitted yet"
    if registration.state == RegistrationState.PENDING:
        return f"{what} in review since {_day(registration)}"
    if registration.state == RegistrationState.FAILED:
        return f"{what} rejected on {registration.state_changed_at:%b} {registration.state_changed_at.day}"
    return None


def hold_reason(sender: str, registrations: Iterable[Registration]) -> str | None:
    """Why texts from `sender` must wait (the whole reason, WAITING_FOR_REGISTRATION first), or None to send."""
    found = {(r.kind, r.subject): r for r in registrations}
    block = found.get((RegistrationKind.CARRIER_BLOCK, sender))
    kind = sender_kind(sender)
    if block is not None and block.state == RegistrationState.FAILED:  # whatever we believed of the number
        codes = ", ".join(str(p["code"]) for p in block.problems if p.get("code")) or "30034"
        why = f"carriers refused texts from {display(sender)} on {_day(block)} (Twilio error {codes})"
    elif kind is SenderKind.EXEMPT:
        return None
    elif kind is SenderKind.TOLL_FREE:
        why = _described("toll-free verification", found.get((RegistrationKind.TOLLFREE, sender))) or ""
    else:
        brand = _described("brand", found.get((RegistrationKind.BRAND, "")))
        why = brand or _described("campaign", found.get((RegistrationKind.CAMPAIGN, ""))) or ""
    return f"{WAITING_FOR_REGISTRATION}: {why}" if why else None
