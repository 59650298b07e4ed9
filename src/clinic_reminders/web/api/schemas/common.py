"""Field types shared by the API schemas: E.164 phones, IANA time zones, languages, aware datetimes.

Validators raise messages that never repeat the input: a phone number or a birth date is patient data.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Annotated
from zoneinfo import ZoneInfo, available_timezones

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from ....models.patients import SUPPORTED_LANGUAGES as SUPPORTED_LANGUAGES
from ....models.patients import Language
from ....phones import InvalidPhoneNumber, to_e164


class Schema(BaseModel):
    """Unknown fields are refused: a typo in a field name should not be silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReadSchema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def _e164(value: str) -> str:
    try:
        return to_e164(value)
    except InvalidPhoneNumber as exc:
        raise ValueError(f"{exc}; give it in E.164, e.g. +12125550123") from None


# Files that some systems keep beside the zones: they mean "this machine's zone" or nothing, not a place.
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones()) - _NOT_ZONES


def check_time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError; odd paths raise ValueError
        raise ValueError("unknown time zone; use an IANA name such as America/New_York") from None
    if name not in _zone_names():
        raise ValueError("unknown time zone; use an IANA name such as America/New_York")
    return name


def require_offset(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("add a UTC offset, e.g. 2030-01-15T09:30:00-05:00 or 2030-01-15T14:30:00Z")
    return value


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


Phone = Annotated[str, Field(max_length=40, examples=["+12125550123"]), AfterValidator(_e164)]
TimeZoneName = Annotated[str, Field(max_length=64, examples=["America/New_York"]), AfterValidator(check_time_zone)]
AwareDatetime = Annotated[datetime, AfterValidator(require_offset)]
LanguageCode = Annotated[Language, BeforeValidator(_lower)]
