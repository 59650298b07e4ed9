"""CSV: one line per appointment (or per patient), UTF-8 with or without a BOM, comma-separated, a header row.

Columns (names are case-insensitive; order is free; unknown names are refused so a typo loses nothing):

    patient_id        the patient's id in the practice-management system (required)
    first_name        required
    last_name         required
    date_of_birth     YYYY-MM-DD
    language          en, es, fr... (also es-MX, SPA, Spanish); empty keeps the stored one (new: en)
    mobile_phone      any common format; a number without +country is in the --phone-region
    home_phone
    work_phone
    appointment_id    the appointment's id; leave every appointment column empty for a patient-only line
    clinic            the clinic's name or id (default: --clinic)
    provider          the provider's name, e.g. Maria Chen or Dr. Maria Chen
    starts_at         ISO 8601: 2030-01-15T09:30 on the clinic's clock, or with an offset (-05:00, Z)
    duration_minutes  default 30
    kind              in-person (default) or telehealth
    status            scheduled (default), cancelled or no-show

Empty optional cells keep what is stored: phones, when any is given, replace the patient's list.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from . import fields
from .records import AppointmentRecord, Items, PatientRecord, PhoneUse, Record, RecordError, Rejection, UnusableInput

COLUMNS = {
    "patient_id": "the patient's id in the practice-management system (required)",
    "first_name": "required",
    "last_name": "required",
    "date_of_birth": "YYYY-MM-DD",
    "language": "en, es, fr... (also es-MX, SPA, Spanish)",
    "mobile_phone": "any common format; without +country, in the --phone-region",
    "home_phone": "",
    "work_phone": "",
    "appointment_id": "empty with every appointment column: a patient-only line",
    "clinic": "the clinic's name or id (default: --clinic)",
    "provider": "the provider's name",
    "starts_at": "ISO 8601: 2030-01-15T09:30 (clinic's clock) or with an offset",
    "duration_minutes": "default 30",
    "kind": "in-person (default) or telehealth",
    "status": "scheduled (default), cancelled or no-show",
}
REQUIRED = ("patient_id", "first_name", "last_name")
_PHONES = (("mobile_phone", PhoneUse.MOBILE), ("home_phone", PhoneUse.HOME), ("work_phone", PhoneUse.WORK))
_APPOINTMENT = ("appointment_id", "clinic", "provider", "starts_at", "duration_minutes", "kind", "status")

HELP = (
    "\b\nColumns of the header row (any order):\n"
    + "\n".join(f"  {name:<17} {text}".rstrip() for name, text in COLUMNS.items())
    + "\n\nEmpty optional cells keep what is stored; phones, when any is given, replace the patient's list."
)


def read(data: bytes, region: str) -> Items:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UnusableInput(f"line {line}: not UTF-8 text; save the file as UTF-8") from None
    rows = _rows(text)
    header = next(rows, None)
    if header is None:
        raise UnusableInput("empty file; the first line names the columns")
    columns = _columns(header[1])
    items: Items = []
    for line, row in rows:
        where = f"line {line}"
        if len(row) > len(columns):
            items.append(Rejection(where, "columns", f"{len(row)} values for {len(columns)} columns"))
            continue
        try:
            items.append(_record(dict(zip(columns, row, strict=False)), where, region))
        except RecordError as exc:
            items.append(Rejection(where, exc.field, exc.message))
    return items


def _rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """Rows that hold a value, each with the line it starts on (a quoted value may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise UnusableInput(f"line {start}: not CSV ({exc})") from None
        if any(value.strip() for value in row):
            yield start, row


def _columns(header: list[str]) -> list[str]:
    names = [name.strip().lower().replace(" ", "_").replace("-", "_") for name in header]
    unknown = [name for name in names if name not in COLUMNS]
    if unknown:
        raise UnusableInput(f"unknown column(s) {', '.join(unknown)}; the columns are {', '.join(COLUMNS)}")
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise UnusableInput(f"the header has no {', '.join(missing)} column")
    if len(set(names)) != len(names):
        raise UnusableInput("a column is named twice in the header")
    return names


def _record(row: dict[str, str], where: str, region: str) -> Record:
    def value(name: str) -> str:
        return row.get(name, "").strip()

    patient = PatientRecord(
        external_id=fields.required(value("patient_id"), "patient_id"),
        first_name=fields.required(value("first_name"), "first_name"),
        last_name=fields.required(value("last_name"), "last_name"),
        date_of_birth=(
            fields.birth_date(fields.iso_date(value("date_of_birth"), "date_of_birth"), "date_of_birth")
            if value("date_of_birth")
            else None
        ),
        language=fields.language(value("language"), "language") if value("language") else None,
        phones=fields.phones(fields.phone(value(name), use, name, region) for name, use in _PHONES if value(name)),
    )
    if not any(value(name) for name in _APPOINTMENT):
        return Record(where, patient=patient)
    duration = value("duration_minutes")
    appointment = AppointmentRecord(
        external_id=fields.required(value("appointment_id"), "appointment_id"),
        patient_external_id=patient.external_id,
        starts_at=fields.iso_datetime(fields.required(value("starts_at"), "starts_at"), "starts_at"),
        clinic=fields.optional(value("clinic"), "clinic"),
        provider=fields.optional(value("provider"), "provider"),
        duration_minutes=(
            fields.minutes(fields.number(duration, "duration_minutes"), "duration_minutes") if duration else None
        ),
        kind=fields.kind(value("kind"), "kind"),
        status=fields.status(value("status"), "status"),
    )
    return Record(where, patient=patient, appointment=appointment)
