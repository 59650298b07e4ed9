"""Field types shared by the API schemas: row ids, text, E.164 phones, IANA time zones, languages, times.

Validators raise messages that never repeat the input: a phone number or a birth date is patient data.
"""

from __future__ import annotations

from datetime import datetime, time
from functools import lru_cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo, available_timezones

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, field_validator

from ....db import INTEGER_MAX
from ....models.patients import SUPPORTED_LANGUAGES as SUPPORTED_LANGUAGES
from ....models.patients import Language
from ....phones import InvalidPhoneNumber, to_e164

# A row's id, wherever it is given (path, query or body): what the database's Integer columns can hold, so that
# 2**64 answers 422 like any other malformed id instead of overflowing in the driver.
RowId = Annotated[int, Field(ge=1, le=INTEGER_MAX)]


def valid_text(value: str) -> str:
    """Refuses what no database column can store: NUL characters (PostgreSQL) and unpaired surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (an unpaired surrogate was sent)") from None
    return value


Text = Annotated[str, AfterValidator(valid_text)]


def _valid_texts(value: Any) -> Any:
    if isinstance(value, str):
        return valid_text(value)
    if isinstance(value, list):
        return [_valid_texts(v) for v in value]
    return value


class Schema(BaseModel):
    """Unknown fields are refused: a typo in a field name should not be silently ignored. Every text field is
    `valid_text`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        return _valid_texts(value)


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


def _clock_time(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("a time on the clinic's clock has no UTC offset: give it as 08:00 or 08:00:00")
    return value


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


Phone = Annotated[str, Field(max_length=40, examples=["+12125550123"]), AfterValidator(_e164)]
TimeZoneName = Annotated[str, Field(max_length=64, examples=["America/New_York"]), AfterValidator(check_time_zone)]
AwareDatetime = Annotated[datetime, AfterValidator(require_offset)]
# A local clock time. JSON Schema's "time" format demands an offset, which a clock time has not: described by a
# pattern instead, so that what the API answers ("08:00:00") matches its own description.
LocalTime = Annotated[
    time,
    AfterValidator(_clock_time),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$",
            "examples": ["08:00", "20:30:00"],
        }
    ),
]
LanguageCode = Annotated[Language, BeforeValidator(_lower)]
