"""Reading HL7 v2 SIU and ADT messages: framing, declared separators, escapes, timestamps, events, and bad
messages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from clinic_reminders.imports import hl7, hl7_messages
from clinic_reminders.imports.hl7_messages import timestamp
from clinic_reminders.imports.records import (
    AppointmentRecord,
    Code,
    ImportStatus,
    PhoneRecord,
    PhoneUse,
    Record,
    RecordError,
    Rejection,
    UnusableInput,
)
from clinic_reminders.models import AppointmentKind

SAMPLE = (Path(__file__).parent.parent / "fixtures" / "imports" / "schedule.hl7").read_text()
SEGMENTS = SAMPLE.splitlines()
FIRST, SECOND = "\r".join(SEGMENTS[:5]) + "\r", "\r".join(SEGMENTS[5:]) + "\r"  # each segment ends with CR


def read(text: str) -> list[Record | Rejection]:
    return hl7.read(text.encode(), "US")


def appointment(text: str) -> AppointmentRecord:
    [item] = read(text)
    assert isinstance(item, Record) and item.appointment is not None, item
    return item.appointment


def rejection(text: str) -> Rejection:
    [item] = read(text)
    assert isinstance(item, Rejection), item
    return item


def test_it_reads_the_sample_messages() -> None:
    first, second = read(SAMPLE)
    assert isinstance(first, Record) and first.where == "message 1 (control id MSG0001)"
    assert first.patient is not None and first.appointment is not None
    assert (first.patient.external_id, first.patient.first_name, first.patient.last_name) == ("P1", "Ana", "López")
    assert first.patient.date_of_birth == date(1980, 1, 15)
    assert first.patient.language == "es"  # SPA
    assert first.patient.phones == (
        PhoneRecord("+13035550142", PhoneUse.MOBILE),  # equipment CP
        PhoneRecord("+13035550199", PhoneUse.WORK),
    )
    assert first.appointment == AppointmentRecord(
        external_id="A1",
        patient_external_id="P1",
        starts_at=datetime(2040, 6, 12, 9, 0),
        provider="Maria Chen",
        duration_minutes=30,
        kind=AppointmentKind.IN_PERSON,
        status=ImportStatus.SCHEDULED,
        location=Code("Riverside", "AIL-3"),
        provider_code=Code("D1", "AIP-3", "Maria Chen", "Dr."),
        start_field="SCH-11.4",
    )
    assert isinstance(second, Record) and second.patient is not None and second.appointment is not None
    assert second.appointment.starts_at == datetime(2040, 6, 13, 14, 30, tzinfo=timezone(timedelta(hours=-4)))
    assert second.appointment.location == Code("Downtown Clinic", "AIL-3")  # AIL-3.4, the facility
    assert second.appointment.provider is second.appointment.provider_code is None
    assert (second.appointment.duration_minutes, second.appointment.kind) == (45, AppointmentKind.TELEHEALTH)
    assert [p.use for p in second.patient.phones] == [PhoneUse.MOBILE, PhoneUse.HOME]


@pytest.mark.parametrize(
    "wrap",
    [
        pytest.param(lambda m: "\r".join(m), id="CR"),
        pytest.param(lambda m: "\n".join(m) + "\n", id="LF"),
        pytest.param(lambda m: "\r\n".join(m), id="CRLF"),
        pytest.param(lambda m: "".join(f"\x0b{x}\r\x1c\r" for x in m), id="MLLP"),
        pytest.param(lambda m: "\x0b" + "\r".join(m) + "\x1c\r\n", id="MLLP-one-frame"),
        pytest.param(lambda m: "\n".join(f"\x0b{x}\x1c\r" for x in m) + "\n\x0b", id="MLLP-blank-lines"),
    ],
)
def test_it_reads_messages_however_they_are_separated(wrap: Callable[[list[str]], str]) -> None:
    assert read(wrap([FIRST, SECOND])) == read(SAMPLE)


def test_it_honours_the_separators_each_message_declares() -> None:
    odd = FIRST.replace("|", "#").replace("^", "*").replace("~", "@")  # MSH#*@\&#...
    home_and_mobile = odd.replace("#*PRN*CP*", "#*PRN*PH**1*303*5550177@*PRN*CP*", 1)
    [item] = read(home_and_mobile + "\r" + SECOND)[:1]
    assert isinstance(item, Record) and item.patient is not None and item.appointment is not None
    assert item.appointment.provider == "Maria Chen"
    assert [p.number for p in item.patient.phones] == ["+13035550142", "+13035550177", "+13035550199"]


def test_it_unescapes_separators_in_values() -> None:
    [item] = read(FIRST.replace("López^Ana", "Pérez\\T\\Gómez^Ana\\S\\María"))
    assert isinstance(item, Record) and item.patient is not None
    assert (item.patient.last_name, item.patient.first_name) == ("Pérez&Gómez", "Ana^María")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("204006120900", datetime(2040, 6, 12, 9, 0)),
        ("2040061209", datetime(2040, 6, 12, 9, 0)),
        ("20400612090015", datetime(2040, 6, 12, 9, 0, 15)),
        ("20400612090015.1234", datetime(2040, 6, 12, 9, 0, 15)),
        ("204006120900-0500", datetime(2040, 6, 12, 9, 0, tzinfo=timezone(timedelta(hours=-5)))),
        ("20400612090000+0530", datetime(2040, 6, 12, 9, 0, tzinfo=timezone(timedelta(hours=5, minutes=30)))),
    ],
)
def test_it_reads_hl7_timestamps(value: str, expected: datetime) -> None:
    assert timestamp(value, "SCH-11.4") == expected


@pytest.mark.parametrize("value", ["20400612", "2040-06-12T09:00", "204002300900", "204006122500", "soon"])
def test_it_refuses_timestamps_without_a_time_or_that_do_not_exist(value: str) -> None:
    with pytest.raises(RecordError) as info:
        timestamp(value, "SCH-11.4")
    assert info.value.field == "SCH-11.4"


@pytest.mark.parametrize(
    ("event", "status"),
    [
        ("S13", ImportStatus.SCHEDULED),
        ("S15", ImportStatus.CANCELLED),
        ("S17", ImportStatus.CANCELLED),
        ("S26", ImportStatus.NO_SHOW),
    ],
)
def test_it_takes_the_status_from_the_event(event: str, status: ImportStatus) -> None:
    assert appointment(FIRST.replace("SIU^S12^SIU_S12", f"SIU^{event}^SIU_{event}")).status == status


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("|30|MIN|", "|1|H|"), 60),
        (("|30|MIN|", "|||"), 30),  # from SCH-11's end
        (("|30|MIN|^^^204006120900^204006120930", "|||^^^204006120900"), None),
    ],
)
def test_it_reads_the_duration_from_sch_9_or_the_end(change: tuple[str, str], expected: int | None) -> None:
    assert appointment(FIRST.replace(*change)).duration_minutes == expected


def test_it_takes_the_start_and_duration_from_ais_when_sch_11_is_empty() -> None:
    ais = "AIS|1||99213^Video visit|204006121000|0|MIN|20|MIN"
    text = FIRST.replace("|30|MIN|^^^204006120900^204006120930", "|||") + ais + "\r"
    record = appointment(text)
    assert (record.starts_at, record.duration_minutes) == (datetime(2040, 6, 12, 10, 0), 20)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (("SIU^S12^SIU_S12", "ADT^A01^ADT_A01"), "MSH-9"),  # an admission: not a patient update
        (("SIU^S12^SIU_S12", "ORM^O01^ORM_O01"), "MSH-9"),
        (("SIU^S12^SIU_S12", "SIU^S99"), "MSH-9"),
        (("^^^204006120900^", "^^^20400612^"), "SCH-11.4"),
        (("P1^^^PMS^MR", ""), "PID-3"),
        (("|López^Ana|", "|López|"), "PID-5.2"),
        (("MSH|^~\\&|", "MSH||"), "MSH-2"),
    ],
)
def test_it_rejects_a_bad_message_naming_its_number_and_field(change: tuple[str, str], field: str) -> None:
    bad = FIRST.replace(*change, 1).replace("MSG0001", "MSG0009")
    first, second, third = read("\r".join([FIRST, bad, SECOND]))
    assert isinstance(first, Record) and isinstance(third, Record)
    assert isinstance(second, Rejection)
    assert second.where.startswith("message 2")
    assert second.field == field


@pytest.mark.parametrize("event", hl7.ADT_EVENTS)
def test_it_reads_a_patient_update_from_adt_without_an_appointment(event: str) -> None:
    update = "\r".join(
        [
            f"MSH|^~\\&|PMS|RIVERSIDE|REMINDERS|OFFICE|20400101120000-0700||ADT^{event}^ADT_A01|MSG0100|P|2.5.1",
            f"EVN|{event}|20400101120000-0700",
            "PID|1||P1^^^PMS^MR||López^Ana||19800115|F|||||^PRN^CP^^1^303^5550177||ENG^English",
            "PV1|1|O",
            "",
        ]
    )
    [item] = read(update)
    assert isinstance(item, Record) and item.appointment is None, item
    assert item.where == "message 1 (control id MSG0100)"
    assert item.patient is not None
    assert (item.patient.external_id, item.patient.language) == ("P1", "en")
    assert item.patient.phones == (PhoneRecord("+13035550177", PhoneUse.MOBILE),)


def test_it_names_the_missing_segment_of_a_message_without_pid() -> None:
    without_pid = "\r".join(s for s in FIRST.split("\r") if not s.startswith("PID"))
    assert (rejection(without_pid).field, rejection(without_pid).message) == ("PID", "segment missing")


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (("|19800115|", "|1980-01-15|"), "PID-7", "not an HL7 date (YYYYMMDD); dropped"),
        (
            ("SPA^Spanish^ISO639-2", "DEU^German"),
            "PID-15",
            "not a supported language; use one of en, es, fr, pt, zh, vi, ko, ru, ar, ht, tl; dropped",
        ),
        (
            ("^^1^303^5550142", "^^1^303^555"),
            "PID-13",
            "not a valid phone number for its country; this number is dropped",
        ),
        (
            ("|30|MIN|", "|30|DAYS|"),
            "SCH-9",
            "not a whole number of minutes from 1 to 1440; the duration is taken from SCH-11.5",
        ),
    ],
)
def test_it_drops_an_optional_value_that_does_not_read_with_a_warning(
    change: tuple[str, str], field: str, message: str
) -> None:
    [item] = read(FIRST.replace(*change, 1))
    assert isinstance(item, Record) and item.appointment is not None, item
    assert [(n.where, n.field, n.message) for n in item.notices] == [("message 1 (control id MSG0001)", field, message)]
    assert item.appointment.duration_minutes == 30


def test_it_does_not_repeat_patient_data_in_errors_or_warnings() -> None:
    bad = rejection(FIRST.replace("P1^^^PMS^MR", "").replace("|19800115|", "|19801315|"))
    assert bad.field == "PID-3"
    [item] = read(FIRST.replace("|19800115|", "|19801315|"))
    assert isinstance(item, Record) and [n.field for n in item.notices] == ["PID-7"]
    assert "1980" not in str(item.notices[0])


def test_it_reads_latin_1_when_the_file_is_not_utf_8() -> None:
    [item] = hl7.read(FIRST.encode("latin-1"), "US")
    assert isinstance(item, Record) and item.patient is not None and item.patient.last_name == "López"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "first segment is not MSH"),
        ("patient_id,first_name\nP1,Ana\n", "first segment is not MSH"),
        (f"\x0b{FIRST}\x1c\rjunk\x0b{SECOND}\x1c\r", "outside the MLLP frames after frame 1"),
    ],
)
def test_it_refuses_input_that_is_not_hl7(text: str, says: str) -> None:
    with pytest.raises(UnusableInput, match=says):
        read(text)


def test_it_refuses_a_last_message_the_end_of_the_file_cut_inside_a_name() -> None:
    cut = SAMPLE[: SAMPLE.index("Okafor^Be") + len("Okafor^Be")]  # "Ben" cut to "Be"
    first, second = read(cut)
    assert isinstance(first, Record) and first.where == "message 1 (control id MSG0001)"
    assert isinstance(second, Rejection) and second.where == "message 2 (control id MSG0002)"
    assert (second.field, second.message) == ("PID-5.2", hl7_messages.CUT_SEGMENT)


def test_it_refuses_a_message_cut_in_its_header_without_its_control_id() -> None:
    rejection_ = rejection(FIRST[: FIRST.index("MSG0001") + 3])
    assert (rejection_.where, rejection_.field) == ("message 1", "MSH-10")


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (f"\x0b{FIRST}\x1c\r\x0b{SECOND[: SECOND.index('Downtown Cl') + 11]}", "AIL-3.4"),  # no FS after it
        (f"\x0b{FIRST}\x1c\r\x0bMS", "MSH"),
    ],
)
def test_it_refuses_the_last_mllp_frame_when_the_file_ends_before_its_fs(text: str, field: str) -> None:
    *_, last = read(text)
    assert isinstance(last, Rejection) and (last.field, last.message) == (field, hl7_messages.CUT_FRAME)


def test_it_takes_a_utf_8_character_cut_by_the_end_of_the_file_as_the_cut_it_is() -> None:
    data = (FIRST + SECOND.replace("Okafor", "Ibáñez")).encode()
    first, second = hl7.read(data[: data.index("ñ".encode()) + 1], "US")  # half of "ñ"
    assert isinstance(first, Record) and first.patient is not None
    assert first.patient.last_name == "López"  # UTF-8 still: not read as ISO 8859-1 for a cut character
    assert isinstance(second, Rejection) and second.field == "PID-5"


def test_it_refuses_a_control_character_in_a_name_naming_the_field() -> None:
    rejected = rejection(FIRST.replace("López^Ana", "López^An\x00a"))
    assert (rejected.field, rejected.message) == (
        "PID-5.2",
        "holds a control character (such as NUL, a tab or a line break)",
    )


V28 = (Path(__file__).parent.parent / "fixtures" / "imports" / "siu_v28.hl7").read_text()
NO_TQ1_END = V28.replace("|20400612090000-0600|20400612093000-0600", "|20400612090000-0600|")


@pytest.mark.parametrize(
    ("ais_duration", "minutes"),
    [
        ("1800|s", 30),  # UCUM seconds, as HL7 2.8 samples send them
        ("1800|S", 30),
        ("90|SEC", 2),  # whole minutes, rounded up
        ("45|min", 45),
        ("45|M", 45),
        ("45|MIN^Minutes^ANS+", 45),
        ("1|h", 60),
        ("1.5|HR", 90),
        ("45|", 45),  # no unit: minutes
    ],
)
def test_it_reads_ais_durations_in_any_unit_hl7_versions_use(ais_duration: str, minutes: int) -> None:
    record = appointment(NO_TQ1_END.replace("|0|s|1800|s\nAIL", f"|0|s|{ais_duration}\nAIL"))
    assert record.duration_minutes == minutes


@pytest.mark.parametrize(
    ("tq1", "minutes"),
    [("TQ1|1|||||30^min&minute&UCUM|20400612090000-0600", 30), ("TQ1|1|||||1^H|20400612090000-0600", 60)],
)
def test_it_takes_the_service_duration_of_tq1_first(tq1: str, minutes: int) -> None:
    message = "\n".join(tq1 if line.startswith("TQ1") else line for line in V28.splitlines()) + "\n"
    assert appointment(message).duration_minutes == minutes


def test_it_falls_back_to_the_next_start_when_tq1_does_not_read_and_says_so() -> None:
    [item] = read(V28.replace("|20400612090000-0600|20400612093000-0600", "|next week|20400612093000-0600"))
    assert isinstance(item, Record) and item.appointment is not None
    assert (item.appointment.start_field, item.appointment.starts_at.hour) == ("AIS-4", 9)
    assert [(n.field, n.message) for n in item.notices] == [
        ("TQ1-7", "not an HL7 date and time (YYYYMMDDHHMM[SS][+/-ZZZZ]); the start is taken from AIS-4")
    ]


def test_it_takes_a_provider_from_a_person_aig_when_there_is_no_aip_or_pv1_7() -> None:
    v24 = (Path(__file__).parent.parent / "fixtures" / "imports" / "siu_v24.hl7").read_text()
    lines = [line for line in v24.splitlines() if not line.startswith(("AIP", "PV1"))]
    record = appointment("\n".join(lines) + "\n")
    assert record.provider_code == Code("1", "AIG-3", "Maria Chen") and record.provider == "Maria Chen"
