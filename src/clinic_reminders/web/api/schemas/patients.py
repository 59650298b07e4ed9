"""Patients as the API reads and writes them: phones in E.164, consent and opt-out per channel."""

from __future__ import annotations

from datetime import date, datetime
from typing import TypeVar

from pydantic import Field, field_validator

from ....models import Channel, PhoneKind
from .common import LanguageCode, Phone, ReadSchema, Schema

_OPT_OUT_DOC = (
    "true records an opt-out by staff (as if the patient had texted STOP); false lifts it. "
    "Each change is kept as a consent event."
)


MAX_PHONES = 10  # numbers a patient may have


class PhoneIn(Schema):
    number: Phone
    kind: PhoneKind | None = Field(
        default=None, description="mobile, landline or unknown; guessed from the numbering plan when left out."
    )


class PhoneChange(PhoneIn):
    """A number in a change of the patient's phones: the same as `PhoneIn`, plus `retry`."""

    retry: bool = Field(
        default=False,
        description="true lifts Twilio's refusal of this number (`invalid_at` and `invalid_reason` are cleared, "
        "the change is audited) and re-plans the patient's upcoming reminders so that they use it again: after "
        "the office enabled the country in Twilio's geo permissions, or when the refusal was wrong. Only for a "
        "number this patient already has and that Twilio refused; otherwise the answer is 422 naming "
        "`phones.<n>.retry`.",
    )


P = TypeVar("P", bound=PhoneIn)


def _unique_numbers(phones: list[P]) -> list[P]:
    seen: set[str] = set()
    for phone in phones:
        if phone.number in seen:
            raise ValueError("the same number is given twice")
        seen.add(phone.number)
    return phones


def _not_in_future(value: date | None) -> date | None:
    if value is not None and value > date.today():
        raise ValueError("must not be in the future")
    return value


class PatientCreate(Schema):
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    date_of_birth: date | None = None
    external_id: str | None = Field(default=None, max_length=100, description="Id in the source system.")
    language: LanguageCode = Field(default="en", description="Language of the reminders (ISO 639-1).")
    preferred_channel: Channel = Channel.SMS
    sms_consent: bool = True
    voice_consent: bool = True
    sms_opted_out: bool = Field(default=False, description=_OPT_OUT_DOC)
    voice_opted_out: bool = Field(default=False, description=_OPT_OUT_DOC)
    phones: list[PhoneIn] = Field(default_factory=list, max_length=MAX_PHONES, description="First = used first.")

    _dob = field_validator("date_of_birth")(_not_in_future)
    _phones = field_validator("phones")(_unique_numbers)


class PatientUpdate(Schema):
    """Only the fields sent change; `phones`, when sent, replaces the whole list (in order of use), and an entry
    with `retry: true` lifts Twilio's refusal of that number."""

    first_name: str | None = Field(default=None, min_length=1, max_length=100)
    last_name: str | None = Field(default=None, min_length=1, max_length=100)
    date_of_birth: date | None = None
    external_id: str | None = Field(default=None, max_length=100)
    language: LanguageCode | None = None
    preferred_channel: Channel | None = None
    sms_consent: bool | None = None
    voice_consent: bool | None = None
    sms_opted_out: bool | None = Field(default=None, description=_OPT_OUT_DOC)
    voice_opted_out: bool | None = Field(default=None, description=_OPT_OUT_DOC)
    phones: list[PhoneChange] | None = Field(
        default=None,
        max_length=MAX_PHONES,
        description="Replaces the list; first = used first. A number already there keeps its row and its "
        "history, including Twilio's refusal unless the entry says `retry: true`.",
    )

    _dob = field_validator("date_of_birth")(_not_in_future)
    _phones = field_validator("phones")(lambda v: None if v is None else _unique_numbers(v))


class PhoneRead(ReadSchema):
    number: str
    kind: str
    invalid_at: datetime | None = Field(
        description="When Twilio refused this number (error 21211 or 21217, not a valid number; 21408, a region "
        "the account may not reach); reminders skip it. Lifted by a PATCH whose phone entry has `retry: true`."
    )
    invalid_reason: str | None = Field(description="Why Twilio refused it, in words.")


class PatientRead(ReadSchema):
    id: int
    external_id: str | None
    first_name: str
    last_name: str
    date_of_birth: date | None
    language: str
    preferred_channel: str
    sms_consent: bool
    voice_consent: bool
    sms_opted_out_at: datetime | None
    sms_opt_out_source: str | None
    voice_opted_out_at: datetime | None
    voice_opt_out_source: str | None
    phones: list[PhoneRead]
    created_at: datetime
    updated_at: datetime
