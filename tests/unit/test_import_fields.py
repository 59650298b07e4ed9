"""The value checks every import format shares: languages, phones, appointment kinds."""

from __future__ import annotations

import pytest

from clinic_reminders.imports import fields
from clinic_reminders.imports.records import PhoneRecord, PhoneUse, RecordError
from clinic_reminders.models import AppointmentKind


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("es", "es"),
        ("ES", "es"),
        ("es-MX", "es"),
        ("es_US", "es"),
        ("SPA", "es"),
        ("Spanish", "es"),
        ("fre", "fr"),
        ("chi", "zh"),
        ("Haitian Creole", "ht"),
        ("tgl", "tl"),
        ("en-US", "en"),
    ],
)
def test_it_understands_the_usual_ways_of_naming_a_language(value: str, code: str) -> None:
    assert fields.language(value, "language") == code


@pytest.mark.parametrize("value", ["de", "German", "xx-YY", "1"])
def test_it_refuses_a_language_the_reminders_are_not_written_in(value: str) -> None:
    with pytest.raises(RecordError, match="not a supported language; use one of en, es"):
        fields.language(value, "language")


def test_it_puts_mobiles_first_and_keeps_a_number_given_twice_once() -> None:
    home = PhoneRecord("+13035550100", PhoneUse.HOME)
    work = PhoneRecord("+13035550101", PhoneUse.WORK)
    mobile = PhoneRecord("+13035550102", PhoneUse.MOBILE)
    same_as_mobile = PhoneRecord("+13035550102", PhoneUse.HOME)
    assert fields.phones([work, same_as_mobile, home, mobile]) == (mobile, home, work)


def test_it_knows_only_a_mobile_takes_texts() -> None:
    assert [use.kind for use in PhoneUse] == ["mobile", None, None]


@pytest.mark.parametrize(
    ("texts", "kind"),
    [
        (["TELEHEALTH"], AppointmentKind.TELEHEALTH),
        (["VR Virtual"], AppointmentKind.TELEHEALTH),
        (["FOLLOWUP", "Video visit"], AppointmentKind.TELEHEALTH),
        (["OFFICE", "Office visit"], AppointmentKind.IN_PERSON),
        (["In-person"], AppointmentKind.IN_PERSON),
        (["ROUTINE", ""], None),
        ([], None),
    ],
)
def test_it_takes_the_kind_from_appointment_types_that_say_how_the_visit_happens(
    texts: list[str], kind: AppointmentKind | None
) -> None:
    assert fields.kind_of(texts) == kind


@pytest.mark.parametrize("value", ["2030-01-15", "20300115", "2030-W03-2", "2030W03", " 2030-01-15 "])
def test_it_refuses_a_start_that_is_a_date_alone(value: str) -> None:
    with pytest.raises(RecordError, match="a date without a time"):
        fields.iso_datetime(value, "starts_at")


@pytest.mark.parametrize("value", ["2030-01-15T09:30", "20300115T0930", "2030-01-15 09:30:00-05:00", "2030-01-15T09"])
def test_it_takes_a_start_with_its_time(value: str) -> None:
    assert fields.iso_datetime(value, "starts_at").hour == 9


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("HANA", "Hana"),
        ("LÓPEZ", "López"),
        ("MCDONALD", "McDonald"),
        ("O'BRIEN", "O'Brien"),
        ("VAN DER BERG", "van der Berg"),
        ("MARIA DEL CARMEN", "Maria del Carmen"),
        ("SMITH-JONES", "Smith-Jones"),
        ("ana lópez", "Ana López"),
        ("McDonald", "McDonald"),  # mixed case is the owner's spelling
        ("DeShawn", "DeShawn"),
        ("de la Cruz", "de la Cruz"),
    ],
)
def test_it_writes_a_name_sent_in_one_case_in_a_readable_one(sent: str, shown: str) -> None:
    assert fields.person_name(sent, "PID-5.1") == shown
