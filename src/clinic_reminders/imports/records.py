"""The plain records every format is read into, and what is reported about a record that cannot be imported.

Readers return their records in file order, each with `where` (e.g. "line 4", "message 2", "entry 3") so that
an operator can find it. Values are already checked and normalised (E.164 phones, supported languages); what
needs the database (the clinic by name or by the PMS's code, the provider, the patient of an appointment-only
record) is checked by `upsert`. A record that is imported may carry `Notice`s: warnings on the import's report
(an optional value dropped, a code not mapped yet, a start in the past).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from ..models import AppointmentKind, PhoneKind


class PhoneUse(StrEnum):
    MOBILE = "mobile"
    HOME = "home"
    WORK = "work"

    @property
    def kind(self) -> PhoneKind | None:
        """Only a mobile is known to take texts; home and work numbers are guessed from the numbering plan."""
        return PhoneKind.MOBILE if self is PhoneUse.MOBILE else None


class ImportStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    NO_SHOW = "no-show"


@dataclass(frozen=True)
class PhoneRecord:
    number: str  # E.164
    use: PhoneUse

    @property
    def kind(self) -> PhoneKind | None:
        return self.use.kind


@dataclass(frozen=True)
class PatientRecord:
    """None and () mean "not given": an existing patient keeps what is stored."""

    external_id: str
    first_name: str
    last_name: str
    date_of_birth: date | None = None
    language: str | None = None
    phones: tuple[PhoneRecord, ...] = ()
    recall_due: date | None = None  # when the PMS says the patient is due for a recall visit (followup.recall)


@dataclass(frozen=True)
class Code:
    """How the practice-management system names a location or a provider (HL7 AIL-3, PV1-3, AIP-3, PV1-7, AIG-3),
    where the record gave it, and the name sent with it: shown to the admin who maps the code, and the name of a
    provider created from it."""

    value: str
    field: str
    name: str = ""
    title: str = ""  # a provider's prefix (Dr.)


@dataclass(frozen=True)
class AppointmentRecord:
    external_id: str
    patient_external_id: str
    starts_at: datetime  # naive means the clinic's local time
    # None keeps what is stored; a new appointment gets the import's default clinic, 30 minutes, in-person.
    clinic: str | None = None  # a clinic's name or id
    provider: str | None = None  # a provider's name
    duration_minutes: int | None = None
    kind: AppointmentKind | None = None
    status: ImportStatus = ImportStatus.SCHEDULED
    # The PMS's codes (HL7): looked up in the office's mapping, then as a clinic's or provider's name.
    location: Code | None = None
    provider_code: Code | None = None
    start_field: str = "starts_at"  # where the start was read, for the report


@dataclass(frozen=True)
class Notice:
    """A warning on the import's report about a record that was imported. Like a rejection, it names the field
    and never repeats a patient's value."""

    where: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: warning: {self.field}: {self.message}"


@dataclass(frozen=True)
class Record:
    """One unit of import (a CSV line, an HL7 message, a FHIR entry): imported or rejected as a whole."""

    where: str
    patient: PatientRecord | None = None
    appointment: AppointmentRecord | None = None
    notices: tuple[Notice, ...] = ()  # what the reader took otherwise than sent


class RecordError(ValueError):
    """A value that cannot be imported. The message never repeats the value: it may be patient data."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Rejection:
    where: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.message}"


class UnusableInput(ValueError):
    """The input as a whole is not of the format (not UTF-8, no header, not JSON...): nothing is imported."""


# What a reader returns, in file order: records to import, and those it could already reject.
Items = list[Record | Rejection]
