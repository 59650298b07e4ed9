"""Inbound HL7 as interface engines send it: messages shaped like the published SIU samples (an HL7 2.4 S12 with
old-style phone fields, an HL7 2.8 S12 with TQ1 and AIS/AIL/AIP timed in seconds), each imported as sent, with
what could not be taken as sent on the import's report. On SQLite and PostgreSQL, through `reminders import hl7`
as an operator runs it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders import accounts, pms_codes
from clinic_reminders.cli import main
from clinic_reminders.db import transaction
from clinic_reminders.imports import mllp
from clinic_reminders.imports.hl7_ack import AckCode
from clinic_reminders.models import Appointment, Clinic, Patient, PmsCode, Provider
from clinic_reminders.reminder_text import render_reminder
from tests.factories import make_import_office, make_provider

FIXTURES = Path(__file__).parent.parent / "fixtures" / "imports"
V24 = (FIXTURES / "siu_v24.hl7").read_text()  # HL7 2.4 SIU^S12, appointment 00331839401, patient 42
V28 = (FIXTURES / "siu_v28.hl7").read_text()  # HL7 2.8 SIU^S12, appointment 2196178, patient MRN55512
DENVER = ZoneInfo("America/Denver")


@pytest.fixture(autouse=True)
def office(session_factory: sessionmaker[Session]) -> None:
    """Riverside (Denver) with Dr. Maria Chen, and Downtown Clinic (New York)."""
    with transaction(session_factory) as db:
        make_import_office(db)


def run(database_url: str, message: str, *args: str) -> Result:
    command = ["--log-level", "ERROR", "import", "hl7", "-", "--database-url", database_url, *args]
    return CliRunner().invoke(main, command, input=message.encode(), catch_exceptions=False)


def imported(database_url: str, message: str) -> Result:
    result = run(database_url, message)
    assert result.exit_code == 0, result.output
    return result


def warnings(result: Result) -> list[str]:
    """The report's warnings, each as "FIELD: message"."""
    return [line.partition(": warning: ")[2] for line in result.stderr.splitlines() if ": warning: " in line]


def edited(message: str, *changes: tuple[str, str]) -> str:
    for old, new in changes:
        assert old in message, old
        message = message.replace(old, new)
    return message


def appointment(db: Session, external_id: str) -> Appointment:
    found = db.scalar(select(Appointment).where(Appointment.external_id == external_id))
    assert found is not None, external_id
    return found


def clinic_id(db: Session, name: str) -> int:
    found = db.scalar(select(Clinic.id).where(Clinic.name == name))
    assert found is not None
    return found


def map_location(session_factory: sessionmaker[Session], code: str, clinic: str) -> None:
    """What an admin does on the configuration page: this PMS location code is that clinic."""
    with transaction(session_factory) as db:
        office = accounts.the_office(db)
        pms_codes.add(db, office.id, "location", code, "test", clinic_id=clinic_id(db, clinic))


def listed(session_factory: sessionmaker[Session]) -> list[tuple[str, str, str, int]]:
    """The codes the configuration page lists to be mapped: (kind, code, name sent, times met)."""
    with session_factory() as db:
        office = accounts.the_office(db)
        return [(r.kind, r.code, r.name, r.seen_count) for r in pms_codes.listed(db, office.id, mapped=False)]


def test_it_imports_a_v24_message_whose_work_phone_does_not_read_without_that_number(
    database_url: str, session_factory: sessionmaker[Session]
) -> None:
    result = imported(database_url, V24)  # PID-14: "(555)555-5556 x123", no such area code
    assert warnings(result) == ["PID-14: not a valid phone number for its country; this number is dropped"]
    assert "appointments: 1 created" in result.stdout and "warnings: 1" in result.stdout
    with session_factory() as db:
        visit = appointment(db, "00331839401")
        assert [p.number for p in visit.patient.phones] == ["+13035550142"]  # PID-13 "(303)555-0142"
        assert visit.patient.usable_phone("sms") is not None
        assert visit.starts_at == datetime(2040, 6, 23, 15, 15, tzinfo=DENVER).astimezone(UTC)
        assert (visit.duration_minutes, visit.clinic.name) == (20, "Riverside")  # AIL-3 RIVERSIDE: its name
        assert visit.provider is not None and visit.provider.name == "Maria Chen"  # AIP-3 CHEN^MARIA


def test_it_imports_a_patient_whose_only_number_is_in_another_countrys_format_and_flags_them(
    database_url: str, session_factory: sessionmaker[Session]
) -> None:
    london = edited(V24, ("|(303)555-0142|(555)555-5556 x123|", "|020 7946 0958||"))  # a UK number, US region
    result = imported(database_url, london)
    assert warnings(result) == [
        "PID-13: not a valid phone number for its country; this number is dropped",
        "PID-13: no usable phone number: a new patient has no number to text (a known one keeps its numbers)",
    ]
    with session_factory() as db:
        patient = appointment(db, "00331839401").patient
        assert patient.phones == [] and patient.usable_phone("sms") is None


def test_it_keeps_a_foreign_number_sent_with_its_country_code(
    database_url: str, session_factory: sessionmaker[Session]
) -> None:
    london = edited(V24, ("|(303)555-0142|(555)555-5556 x123|", "|^PRN^CP^^44^20^79460958||"))  # XTN-5 country
    assert warnings(imported(database_url, london)) == []
    with session_factory() as db:
        assert [p.number for p in appointment(db, "00331839401").patient.phones] == ["+442079460958"]


def test_it_takes_the_start_from_tq1_and_a_duration_in_seconds_from_ais(
    database_url: str, session_factory: sessionmaker[Session]
) -> None:
    map_location(session_factory, "RIV", "Riverside")
    no_end = edited(
        V28, ("|20400612090000-0600|20400612093000-0600", "|20400612090000-0600|"), ("|0|s|1800|s", "|0|s|2700|s")
    )
    result = imported(database_url, no_end)
    assert warnings(result) == [] and "appointments: 1 created" in result.stdout
    with session_factory() as db:
        visit = appointment(db, "2196178")
        assert visit.starts_at == datetime(2040, 6, 12, 15, 0, tzinfo=UTC)  # TQ1-7, 09:00 at -06:00
        assert (visit.duration_minutes, visit.clinic.name) == (45, "Riverside")  # AIS-7/8: 2700 s


def test_it_prefers_tq1_to_a_disagreeing_sch_11_and_says_so(
    database_url: str, session_factory: sessionmaker[Session]
) -> None:
    map_location(session_factory, "RIV", "Riverside")
    stale = edited(V28, ("|FOLLOWUP^Follow-up^HL70277|||", "|FOLLOWUP^Follow-up^HL70277|30|MIN|^^^20200612090000-0600"))
    result = imported(database_url, stale)
    assert warnings(result) == [
        "SCH-11.4: another start than TQ1-7, which is taken (SCH-11 is the timing of HL7 before 2.5)"
    ]
    with session_factory() as db:
        visit = appointment(db, "2196178")
        assert visit.starts_at == datetime(2040, 6, 12, 15, 0, tzinfo=UTC)  # not 2020
        assert visit.duration_minutes == 30  # TQ1-8, the end


def test_it_reports_a_start_in_the_past(database_url: str, session_factory: sessionmaker[Session]) -> None:
    past = edited(V24, ("^^20^204006231515^204006231535", "^^20^202006231515^202006231535"))
    result = imported(database_url, past)
    assert "SCH-11.4: the start is in the past: no reminder goes out for it" in warnings(result)
    with session_factory() as db:
        assert appointment(db, "00331839401").starts_at == datetime(2020, 6, 23, 15, 15, tzinfo=DENVER)
    assert "in the past" not in " ".join(warnings(imported(database_url, past)))  # said once, when it lands


@pytest.mark.parametrize(
    ("sch", "minutes", "said"),
    [
        pytest.param("|1200|S|^^^204006231515", 20, [], id="S-seconds"),
        pytest.param("|||^^M45^204006231515", 45, [], id="TQ-M45"),
        pytest.param("|||^^S1800^204006231515", 30, [], id="TQ-S1800"),
        pytest.param(
            "|2|WK|^^^204006231515^204006231540",
            25,
            ["SCH-10: use minutes (MIN), hours (H) or seconds (S); the duration is taken from SCH-11.5"],
            id="weeks-then-the-end",
        ),
    ],
)
def test_it_reads_durations_in_older_units_or_falls_back(
    database_url: str, session_factory: sessionmaker[Session], sch: str, minutes: int, said: list[str]
) -> None:
    message = edited(V24, ("|20|MIN|^^20^204006231515^204006231535", sch))
    assert warnings(imported(database_url, message)) == [f"PID-14: {PID_14}", *said]
    with session_factory() as db:
        assert appointment(db, "00331839401").duration_minutes == minutes


PID_14 = "not a valid phone number for its country; this number is dropped"


@pytest.mark.parametrize(
    ("pid_5", "first", "last"),
    [
        ("LÓPEZ^HANA", "Hana", "López"),
        ("MCDONALD^SEAN", "Sean", "McDonald"),
        ("O'BRIEN^MAEVE", "Maeve", "O'Brien"),
        ("VAN DER BERG^ANNA", "Anna", "van der Berg"),
        ("de Souza^DeShawn", "DeShawn", "de Souza"),  # mixed case: the owner's spelling, kept
    ],
)
def test_it_writes_names_sent_in_capitals_in_a_readable_case(
    database_url: str, session_factory: sessionmaker[Session], pid_5: str, first: str, last: str
) -> None:
    imported(database_url, edited(V24, ("|SMITH^PAUL|", f"|{pid_5}|")))
    with session_factory() as db:
        visit = appointment(db, "00331839401")
        assert (visit.patient.first_name, visit.patient.last_name) == (first, last)
        text = render_reminder(visit, accounts.the_office(db)).body
        assert first in text and first.upper() not in text


def test_it_imports_an_unknown_location_code_to_the_only_clinic_and_lists_the_code_once(
    database_url: str, session_factory: sessionmaker[Session]
) -> None:
    with transaction(session_factory) as db:
        db.get_one(Clinic, clinic_id(db, "Downtown Clinic")).active = False
    result = imported(database_url, V28)
    assert warnings(result) == [
        "AIL-3: unknown location code 'RIV': imported to the office's only clinic, Riverside; "
        "map it on the configuration page"
    ]
    with session_factory() as db:
        assert appointment(db, "2196178").clinic.name == "Riverside"
    imported(database_url, V28)
    assert listed(session_factory) == [("location", "RIV", "Riverside Family Medicine", 2)]


def test_it_refuses_an_unknown_location_code_of_an_office_with_several_clinics_until_it_is_mapped(
    database_url: str, session_factory: sessionmaker[Session]
) -> None:
    refused = run(database_url, V28)
    assert refused.exit_code == 1
    assert (
        "<stdin>: message 1 (control id MSG28001): AIL-3: unknown location code 'RIV': "
        "map it on the configuration page" in refused.stderr
    )
    assert listed(session_factory) == [("location", "RIV", "Riverside Family Medicine", 1)]
    with transaction(session_factory) as db:
        [row] = db.scalars(select(PmsCode)).all()
        pms_codes.map_code(db, row, "test", clinic_id=clinic_id(db, "Downtown Clinic"))
    result = imported(database_url, V28)  # the interface engine sends it again
    assert warnings(result) == [] and "appointments: 1 created" in result.stdout
    with session_factory() as db:
        assert appointment(db, "2196178").clinic.name == "Downtown Clinic"
    assert listed(session_factory) == []


def test_it_imports_without_a_provider_whose_code_is_unknown_and_creates_them_from_the_aip_name(
    database_url: str, session_factory: sessionmaker[Session]
) -> None:
    map_location(session_factory, "RIV", "Riverside")
    okafor = edited(V28, ("4455^CHEN^MARIA^^^DR^MD|ATT", "7788^OKAFOR^BEN^^^DR^MD|ATT"))  # AIP-3
    result = imported(database_url, okafor)
    assert warnings(result) == [
        "AIP-3: unknown provider code '7788': no provider set; map it on the configuration page"
    ]
    with session_factory() as db:
        assert appointment(db, "2196178").provider is None
    with transaction(session_factory) as db:
        [row] = pms_codes.listed(db, accounts.the_office(db).id, mapped=False)
        assert (row.kind, row.code, row.title, row.name) == ("provider", "7788", "Dr", "Ben Okafor")
        pms_codes.create_provider(db, row, "test")
    again = imported(database_url, okafor)
    assert warnings(again) == [] and "appointments: 0 created, 1 updated" in again.stdout
    with session_factory() as db:
        provider = appointment(db, "2196178").provider
        assert provider is not None and provider.display_name == "Dr Ben Okafor"


def test_it_reads_the_location_and_provider_codes_of_pv1_and_a_mapped_code_wins_over_the_name(
    database_url: str, session_factory: sessionmaker[Session]
) -> None:
    map_location(session_factory, "RIV", "Riverside")
    with transaction(session_factory) as db:
        office = accounts.the_office(db)
        stone = make_provider(db, office, None, name="Ada Stone", title="Dr.")
        db.flush()
        pms_codes.add(db, office.id, "provider", "4455", "test", provider_id=stone.id)
    without_ail_aip = "\n".join(line for line in V28.splitlines() if not line.startswith(("AIL", "AIP"))) + "\n"
    assert warnings(imported(database_url, without_ail_aip)) == []
    with session_factory() as db:
        visit = appointment(db, "2196178")
        assert visit.clinic.name == "Riverside"  # PV1-3 RIV
        assert visit.provider is not None and visit.provider.name == "Ada Stone"  # PV1-7 4455, not "Maria Chen"


def test_a_csv_clinic_the_office_does_not_know_is_listed_and_imports_once_mapped(
    database_url: str, session_factory: sessionmaker[Session]
) -> None:
    csv = "patient_id,first_name,last_name,mobile_phone,appointment_id,clinic,starts_at\n"
    csv += "P9,IVY,LEE,303-555-0150,A9,RIV-01,2040-06-12T09:00\n"
    command = ["--log-level", "ERROR", "import", "csv", "-", "--database-url", database_url]
    refused = CliRunner().invoke(main, command, input=csv)
    assert refused.exit_code == 1 and "line 2: clinic: no clinic named 'RIV-01'" in refused.stderr
    assert listed(session_factory) == [("location", "RIV-01", "", 1)]
    with transaction(session_factory) as db:
        [row] = db.scalars(select(PmsCode)).all()
        pms_codes.map_code(db, row, "test", clinic_id=clinic_id(db, "Riverside"))
    assert CliRunner().invoke(main, command, input=csv).exit_code == 0
    with session_factory() as db:
        visit = appointment(db, "A9")
        assert (visit.clinic.name, visit.patient.first_name, visit.patient.last_name) == ("Riverside", "Ivy", "Lee")


def test_a_live_feed_answers_aa_with_a_warning_err_for_each_warning(session_factory: sessionmaker[Session]) -> None:
    frame = V24.replace("\n", "\r").encode()
    answer = mllp.Listener(session_factory).answer(frame)
    assert answer.code == AckCode.ACCEPT
    segments = answer.frame.strip(b"\x0b\x1c\r").decode().split("\r")
    assert segments[1] == "MSA|AA|70"
    assert segments[2] == ("ERR||PID^1^14|102^Data type error^HL70357|W||||PID-14: " + PID_14)
    with session_factory() as db:
        assert db.scalar(select(Patient.last_name)) == "Smith"
        assert db.scalar(select(Provider.name)) == "Maria Chen"
