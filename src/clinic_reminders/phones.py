"""Phone numbers: parse anything a person types into E.164, and guess the line type where the library can."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType
from phonenumbers import timezone as number_zones
from phonenumbers.tzdata import TIMEZONE_LONGEST_PREFIX

from .models import PhoneKind

DEFAULT_REGION = "US"


class InvalidPhoneNumber(ValueError):
    """Not a valid phone number. The message never repeats the number (it may be patient data)."""


def to_e164(raw: str, region: str = DEFAULT_REGION) -> str:
    try:
        parsed = phonenumbers.parse(raw, region)
    except NumberParseException as exc:
        raise InvalidPhoneNumber("not a phone number") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber("not a valid phone number for its country")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def guess_kind(e164: str) -> PhoneKind:
    """Mobile or landline where the numbering plan says so; in the US it cannot (both are FIXED_LINE_OR_MOBILE)."""
    kind = phonenumbers.number_type(phonenumbers.parse(e164))
    if kind == PhoneNumberType.MOBILE:
        return PhoneKind.MOBILE
    if kind == PhoneNumberType.FIXED_LINE:
        return PhoneKind.LANDLINE
    return PhoneKind.UNKNOWN


@lru_cache(maxsize=4096)
def display(e164: str) -> str:
    """(555) 010-1234 for US numbers, international format otherwise (cached: clinic numbers repeat a lot)."""
    parsed = phonenumbers.parse(e164)
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if parsed.country_code == 1
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(parsed, fmt)


def local_zone(e164: str, fallback: str) -> str:
    """The phone's time zone when its numbering plan pins one (area codes mostly do), else `fallback`.

    Quiet hours are the patient's local hours; a patient's number is the best hint we have of where they are.
    The zone map is keyed by at most TIMEZONE_LONGEST_PREFIX leading digits, so numbers sharing those share
    their zones: the answer is cached by that prefix (planning 100,000 appointments parses few numbers).
    """
    prefix = e164[: 1 + TIMEZONE_LONGEST_PREFIX]
    zones = _ZONES_BY_PREFIX.get(prefix)
    if zones is None:
        zones = tuple(number_zones.time_zones_for_geographical_number(phonenumbers.parse(e164)))
        if len(_ZONES_BY_PREFIX) < 100_000:
            _ZONES_BY_PREFIX[prefix] = zones
    return zones[0] if len(zones) == 1 and zones[0] != "Etc/Unknown" else fallback


_ZONES_BY_PREFIX: dict[str, tuple[str, ...]] = {}
