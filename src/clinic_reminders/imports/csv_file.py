"""CSV: one line per appointment (or per patient), UTF-8 with or without a BOM, comma-separated, a header row.

Columns (names are case-insensitive; order is free; unknown names are refused so a typo loses nothing):

    patient_id        the patient's id in the practice-management system (required)
    first_name        required; a name in capitals (LÓPEZ) is taken in a readable case (López)
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
    recall_due        YYYY-MM-DD: the patient is due for a recall visit then (texted when recall is on)

Empty optional cells keep what is stored: phones, when any is given, replace the patient's list. Each line holds
a value for every column (empty ones included): a line with fewer or more values is refused, as is a control
character (NUL, tab, line break...) inside a name or an id. Every line ends with a line break, the last one too:
a file whose last line does not is taken to be cut short there, and that line is refused (see `truncation`).
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from . import fields, truncation
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
    "recall_due": "YYYY-MM-DD: due for a recall visit then",
}
REQUIRED = ("patient_id", "first_name", "last_name")
_PHONES = (("mobile_phone", PhoneUse.MOBILE), ("home_phone", PhoneUse.HOME), ("work_phone", PhoneUse.WORK))
_APPOINTMENT = ("appointment_id", "clinic", "provider", "starts_at", "duration_minutes", "kind", "status")

_RULES = (
    "Empty optional cells keep what is stored; phones, when any is given, replace the patient's list. Every line "
    "holds a value for each column and ends with a line break, the last line too: a line with fewer or more "
    "values is refused, and so is a last line without its line break (the file looks cut short there)."
)
HELP = (
    "\b\nColumns of the header row (any order):\n"
    + "\n".join(f"  {name:<17} {text}".rstrip() for name, text in COLUMNS.items())
    + f"\n\n{_RULES}"
)


def read(data: bytes, region: str) -> Items:
    try:
        text = truncation.decode_utf8(data)
    except UnicodeDecodeError as exc:
        line = data.removeprefix(codecs.BOM_UTF8)[: exc.start].count(b"\n") + 1
        raise UnusableInput(f"line {line}: not UTF-8 text; save the file as UTF-8") from None
    rows = _rows(text)
    header = next(rows, None)
    if header is None:
        raise UnusableInput("empty file; the first line names the columns")
    if not header.ended:
        raise UnusableInput("line 1: the file ends inside the header row: it looks cut short")
    columns = _columns(header.values)
    phones = fields.Phones(region)
    items: Items = []
    for row in rows:
        where = f"line {row.line}"
        if not row.ended:
            cut_in = columns[len(row.values) - 1] if len(row.values) <= len(columns) else "columns"
            items.append(Rejection(where, cut_in, CUT))
        elif len(row.values) != len(columns):
            items.append(Rejection(where, "columns", f"{len(row.values)} values for {len(columns)} columns"))
        else:
            try:
                values = {name: value.strip() for name, value in zip(columns, row.values, strict=True)}
                items.append(_record(values, where, phones))
            except RecordError as exc:
                items.append(Rejection(where, exc.field, exc.message))
    return items


CUT = "the file ends inside this line, before its line break: it looks cut short, so the line is not imported"


@dataclass(frozen=True)
class _Row:
    line: int  # where it starts (a quoted value may span lines)
    values: list[str]
    ended: bool  # by a line break outside quotes; only the file's last row can lack one


class _Lines:
    """The text's lines for csv.reader, noting the last one handed out and whether the reader asked past the end
    (it does only when the end of the text falls inside a quoted value)."""

    def __init__(self, text: str) -> None:
        self._lines = iter(io.StringIO(text, newline=""))
        self.last = ""
        self.exhausted = False

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        try:
            self.last = next(self._lines)
        except StopIteration:
            self.exhausted = True
            raise
        return self.last


def _rows(text: str) -> Iterator[_Row]:
    """Rows that hold a value, each with the line it starts on and whether it ended."""
    lines = _Lines(text)
    reader = csv.reader(lines)
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise UnusableInput(f"line {start}: not CSV ({exc})") from None
        if any(value.strip() for value in row):
            yield _Row(start, row, ended=not lines.exhausted and truncation.ends_with_line_break(lines.last))


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


def _record(row: dict[str, str], where: str, phones: fields.Phones) -> Record:
    """`row`: the line's values by column name, without surrounding spaces."""
    value = row.get
    birth, language, recall_due = value("date_of_birth", ""), value("language", ""), value("recall_due", "")
    patient = PatientRecord(
        external_id=fields.required(value("patient_id"), "patient_id"),
        first_name=fields.person_name(value("first_name"), "first_name"),
        last_name=fields.person_name(value("last_name"), "last_name"),
        date_of_birth=(fields.birth_date(fields.iso_date(birth, "date_of_birth"), "date_of_birth") if birth else None),
        language=fields.language(language, "language") if language else None,
        phones=fields.phones(phones.read(number, use, name) for name, use in _PHONES if (number := value(name))),
        recall_due=fields.iso_date(recall_due, "recall_due") if recall_due else None,
    )
    if not any(value(name) for name in _APPOINTMENT):
        return Record(where, patient=patient)
    duration = value("duration_minutes", "")
    appointment = AppointmentRecord(
        external_id=fields.required(value("appointment_id"), "appointment_id"),
        patient_external_id=patient.external_id,
        starts_at=fields.iso_datetime(fields.required(value("starts_at"), "starts_at"), "starts_at"),
        clinic=fields.optional(value("clinic"), "clinic"),
        provider=fields.optional(value("provider"), "provider"),
        duration_minutes=(
            fields.minutes(fields.number(duration, "duration_minutes"), "duration_minutes") if duration else None
        ),
        kind=fields.kind(value("kind", ""), "kind"),
        status=fields.status(value("status", ""), "status"),
    )
    return Record(where, patient=patient, appointment=appointment)
