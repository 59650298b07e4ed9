"""Reading CSV schedules into records: columns, line numbers, and a clear error for every bad line."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from clinic_reminders.imports import csv_file
from clinic_reminders.imports.records import ImportStatus, PhoneRecord, PhoneUse, Record, Rejection, UnusableInput
from clinic_reminders.models import AppointmentKind

FIXTURES = Path(__file__).parent.parent / "fixtures" / "imports"
HEADER = "patient_id,first_name,last_name,date_of_birth,language,mobile_phone,appointment_id,clinic,starts_at"
GOOD = "P1,Ana,Lopez,1980-01-15,es,(303) 555-0142,A1,Riverside,2040-06-12T09:00"


def read(text: str) -> list[Record | Rejection]:
    return csv_file.read(text.encode(), "US")


def only_rejection(text: str) -> Rejection:
    [item] = read(text)
    assert isinstance(item, Rejection), item
    return item


def test_it_reads_the_sample_into_patients_and_appointments() -> None:
    first, second, third = csv_file.read((FIXTURES / "schedule.csv").read_bytes(), "US")
    assert isinstance(first, Record) and first.where == "line 2"
    assert first.patient is not None and first.appointment is not None
    assert (first.patient.external_id, first.patient.first_name, first.patient.last_name) == ("P1", "Ana", "López")
    assert first.patient.date_of_birth == date(1980, 1, 15)
    assert first.patient.language == "es"
    assert first.patient.phones == (PhoneRecord("+13035550142", PhoneUse.MOBILE),)
    assert first.appointment.external_id == "A1"
    assert first.appointment.patient_external_id == "P1"
    assert first.appointment.clinic == "Riverside"
    assert first.appointment.provider == "Dr. Maria Chen"
    assert first.appointment.starts_at == datetime(2040, 6, 12, 9, 0)  # naive: the clinic's clock
    assert first.appointment.duration_minutes == 30
    assert first.appointment.kind == AppointmentKind.IN_PERSON
    assert first.appointment.status == ImportStatus.SCHEDULED

    assert isinstance(second, Record) and second.patient is not None and second.appointment is not None
    assert second.appointment.starts_at == datetime(2040, 6, 13, 14, 30, tzinfo=timezone(timedelta(hours=-4)))
    assert (second.appointment.duration_minutes, second.appointment.kind) == (45, AppointmentKind.TELEHEALTH)
    assert [p.use for p in second.patient.phones] == [PhoneUse.MOBILE, PhoneUse.HOME]

    assert isinstance(third, Record) and third.appointment is not None
    assert (third.appointment.duration_minutes, third.appointment.kind) == (None, None)  # keep what is stored


def test_it_takes_a_bom_any_column_order_and_any_case_in_the_header() -> None:
    header = "\ufeffStarts_At,Clinic,Appointment ID,Last-Name,First_Name,PATIENT_ID"
    text = f"{header}\n2040-06-12T09:00,Riverside,A1,Lopez,Ana,P1\n"
    [record] = read(text)
    assert isinstance(record, Record) and record.appointment is not None and record.patient is not None
    assert (record.patient.external_id, record.appointment.external_id) == ("P1", "A1")


def test_it_reads_a_line_without_appointment_values_as_a_patient_only_record() -> None:
    [record] = read(f"{HEADER}\nP1,Ana,Lopez,,,(303) 555-0142,,,\n")
    assert isinstance(record, Record) and record.patient is not None and record.appointment is None


def test_it_names_the_line_and_field_of_each_bad_line_and_reads_the_others() -> None:
    items = csv_file.read((FIXTURES / "schedule_with_errors.csv").read_bytes(), "US")
    rejected = {(i.where, i.field) for i in items if isinstance(i, Rejection)}
    assert rejected == {("line 3", "starts_at"), ("line 5", "mobile_phone")}
    assert [i.where for i in items if isinstance(i, Record)] == ["line 2", "line 4", "line 6"]


def test_it_counts_lines_of_values_that_span_lines_and_refuses_a_line_break_in_a_name() -> None:
    text = f'{HEADER}\nP1,Ana,"Lopez\nGarcia",,,,A1,Riverside,2040-06-12T09:00\n\nP2,Ben,Okafor,,,,A2,Riverside,soon\n'
    first, second = read(text)
    assert isinstance(first, Rejection) and (first.where, first.field) == ("line 2", "last_name")
    assert isinstance(second, Rejection) and (second.where, second.field) == ("line 5", "starts_at")


@pytest.mark.parametrize(
    ("column", "value", "field"),
    [
        ("date_of_birth", "15/01/1980", "date_of_birth"),
        ("date_of_birth", (date.today() + timedelta(days=2)).isoformat(), "date_of_birth"),
        ("language", "de", "language"),
        ("mobile_phone", "555-0123", "mobile_phone"),
        ("mobile_phone", "call me", "mobile_phone"),
        ("starts_at", "2040-06-12", "starts_at"),
        ("starts_at", "12/06/2040 9am", "starts_at"),
        ("first_name", "", "first_name"),
        ("patient_id", "x" * 101, "patient_id"),
        ("appointment_id", "", "appointment_id"),
    ],
)
def test_it_rejects_a_bad_value_naming_the_field_but_not_the_value(column: str, value: str, field: str) -> None:
    row = dict(zip(HEADER.split(","), GOOD.split(","), strict=True))
    row[column] = value
    rejection = only_rejection(f"{HEADER}\n{','.join(row.values())}\n")
    assert (rejection.where, rejection.field) == ("line 2", field)
    assert not value or value not in rejection.message


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("duration_minutes", "0", None),
        ("duration_minutes", "30.5", None),
        ("duration_minutes", "half an hour", None),
        ("duration_minutes", "1441", None),
        ("duration_minutes", "90", 90),
        ("kind", "house call", None),
        ("kind", "Telehealth", AppointmentKind.TELEHEALTH),
        ("status", "maybe", None),
        ("status", "Canceled", ImportStatus.CANCELLED),
        ("status", "no-show", ImportStatus.NO_SHOW),
    ],
)
def test_it_checks_the_appointment_columns(column: str, value: str, expected: object) -> None:
    [item] = read(f"{HEADER},{column}\n{GOOD},{value}\n")
    if expected is None:
        assert isinstance(item, Rejection) and item.field == column
    else:
        assert isinstance(item, Record) and getattr(item.appointment, column) == expected


def test_it_rejects_a_line_with_more_values_than_columns() -> None:
    assert only_rejection(f"{HEADER}\n{GOOD},surplus\n").field == "columns"


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "empty file"),
        (b"patient_id,first_name,last_name,phone\n", "unknown column(s) phone"),
        (b"patient_id,first_name\n", "no last_name column"),
        (b"patient_id,first_name,last_name,last_name\n", "named twice"),
        (b"patient_id,first_name,last_name\nP1,Ana,L\xf3pez\n", "line 2: not UTF-8"),
    ],
)
def test_it_refuses_input_that_is_not_a_schedule_csv(data: bytes, says: str) -> None:
    with pytest.raises(UnusableInput, match=says.replace("(", r"\(").replace(")", r"\)")):
        csv_file.read(data, "US")


def test_it_refuses_a_line_with_fewer_values_than_columns_instead_of_guessing() -> None:
    short = ",".join(GOOD.split(",")[:6])  # the appointment columns left out, not left empty
    rejection = only_rejection(f"{HEADER}\n{short}\n")
    assert (rejection.where, rejection.field, rejection.message) == ("line 2", "columns", "6 values for 9 columns")


@pytest.mark.parametrize(
    "cut", ["P1,Ana,Ló", "P1,Ana,L\xc3", "P1,Ana,", f"{GOOD}"], ids=["value", "character", "comma", "end"]
)
def test_it_refuses_a_last_line_the_end_of_the_file_cut_short_naming_its_column(cut: str) -> None:
    data = f"{HEADER}\n{GOOD.replace('A1', 'A0')}\n".encode() + cut.encode("utf-8", "surrogateescape")
    data = data.replace("\xc3".encode(), b"\xc3")  # a UTF-8 character cut in two
    first, last = csv_file.read(data, "US")
    assert isinstance(first, Record) and first.patient is not None and first.patient.last_name == "Lopez"
    assert isinstance(last, Rejection) and last.where == "line 3"
    assert last.field == ("starts_at" if cut == GOOD else "last_name")
    assert last.message.startswith("the file ends inside this line, before its line break")


def test_it_refuses_a_last_line_cut_inside_a_quoted_value_after_a_line_break() -> None:
    rejection = only_rejection(f'{HEADER}\nP1,Ana,"Lopez\n')
    assert (rejection.where, rejection.field) == ("line 2", "last_name")


def test_it_refuses_a_header_the_end_of_the_file_cut_short() -> None:
    with pytest.raises(UnusableInput, match="line 1: the file ends inside the header row"):
        read("patient_id,first_name,last_name")


@pytest.mark.parametrize("value", ["An\x00a", "Ana\tMaria", "An\x1ba", "Ana\u2028Maria"])
def test_it_refuses_a_control_character_in_a_name_naming_the_field(value: str) -> None:
    rejection = only_rejection(f"{HEADER}\n{GOOD.replace('Ana', value)}\n")
    assert (rejection.where, rejection.field) == ("line 2", "first_name")
    assert rejection.message == "holds a control character (such as NUL, a tab or a line break)"


@pytest.mark.parametrize(
    ("column", "value"), [("patient_id", "P\x001"), ("clinic", "River\x00side"), ("mobile_phone", "303\x005550142")]
)
def test_it_refuses_a_control_character_in_other_free_text(column: str, value: str) -> None:
    row = dict(zip(HEADER.split(","), GOOD.split(","), strict=True)) | {column: value}
    assert only_rejection(f"{HEADER}\n{','.join(row.values())}\n").field == column
