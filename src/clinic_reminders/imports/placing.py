"""Which clinic and provider an imported appointment gets, and what the import's report says about it.

A CSV or FHIR record names its clinic and provider (by name or id, or by a PMS code the office mapped): a name
the office does not know rejects the record, as a typo should. An HL7 message gives the PMS's codes, which the
office maps on the configuration page (`pms_codes`); until a code is mapped:

- an unknown location code leaves a known appointment at its clinic, and puts a new one at the import's default
  clinic (`--clinic`), else at the office's only active clinic; an office with several clinics and no default
  rejects the message ("unknown location code X: map it on the configuration page"), to be sent again once
  the code is mapped. Either way the code is listed on the configuration page, with how often it was met.
- an unknown provider code imports the appointment without a provider (a known one keeps theirs), with a
  warning; the configuration page offers to map the code, or to create the provider from the AIP name.

A scheduled appointment created or moved to a start in the past is imported and reported: no reminder goes out
for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..models import Appointment, Clinic, Provider
from .known import Known, StoredAppointment
from .records import AppointmentRecord, Code, ImportStatus, Notice, RecordError

_MAP_IT = "map it on the configuration page"


@dataclass
class Placed:
    clinic: Clinic
    provider: Provider | None
    notices: list[Notice] = field(default_factory=list)


def place(
    known: Known,
    where: str,
    record: AppointmentRecord,
    appointment: Appointment | StoredAppointment | None,
    default_clinic: str | None,
) -> Placed:
    """The record's clinic and provider; raises `RecordError` when it cannot be placed."""
    notices: list[Notice] = []
    if record.location is not None:
        clinic = _at_location(known, where, record.location, appointment, default_clinic, notices)
    else:
        clinic = _named_clinic(known, record, appointment, default_clinic)
    current_provider = appointment.provider_id if appointment else None
    provider = None
    if record.provider_code is not None:
        provider = _provider_by_code(known, where, record, current_provider, notices)
    elif record.provider:
        provider = known.provider(record.provider, current_provider)
    return Placed(clinic, provider, notices)


def _named_clinic(
    known: Known, record: AppointmentRecord, appointment: Appointment | StoredAppointment | None, default: str | None
) -> Clinic:
    clinic_ref = record.clinic or (None if appointment else default)
    if clinic_ref:
        return known.clinic(clinic_ref, appointment.clinic_id if appointment else None)
    if appointment is not None:
        return appointment.clinic
    raise RecordError("clinic", "missing; name it in the file, or give the import a default clinic")


def _at_location(
    known: Known,
    where: str,
    code: Code,
    appointment: Appointment | StoredAppointment | None,
    default: str | None,
    notices: list[Notice],
) -> Clinic:
    found = known.find_clinic(code.value, appointment.clinic_id if appointment else None)
    if found is not None:
        return found
    unknown = f"unknown location code {code.value!r}"
    if appointment is not None:
        notices.append(Notice(where, code.field, f"{unknown}: the appointment stays at its clinic; {_MAP_IT}"))
        return appointment.clinic
    if default:
        clinic, chosen = known.clinic(default, None), "the import's default clinic"
    else:
        only = known.only_clinic()
        if only is None:
            raise RecordError(code.field, f"{unknown}: {_MAP_IT}")
        clinic, chosen = only, "the office's only clinic"
    notices.append(Notice(where, code.field, f"{unknown}: imported to {chosen}, {clinic.name}; {_MAP_IT}"))
    return clinic


def _provider_by_code(
    known: Known, where: str, record: AppointmentRecord, current_id: int | None, notices: list[Notice]
) -> Provider | None:
    code = record.provider_code
    assert code is not None
    try:
        found = known.find_provider(code.value, current_id)
        if found is None and record.provider:
            found = known.find_provider(record.provider, current_id)
    except RecordError as exc:  # deactivated, or several of that name
        notices.append(Notice(where, code.field, f"{exc.message}; no provider set"))
        return None
    if found is None:
        notices.append(Notice(where, code.field, f"unknown provider code {code.value!r}: no provider set; {_MAP_IT}"))
    return found


def past_start(
    where: str, record: AppointmentRecord, appointment: Appointment | StoredAppointment | None, starts_at: datetime
) -> Notice | None:
    """A warning for a scheduled appointment created or moved to a start already past (`starts_at`: UTC)."""
    if record.status is not ImportStatus.SCHEDULED or starts_at >= datetime.now(starts_at.tzinfo):
        return None
    if appointment is not None and appointment.starts_at == starts_at:
        return None
    return Notice(where, record.start_field, "the start is in the past: no reminder goes out for it")
