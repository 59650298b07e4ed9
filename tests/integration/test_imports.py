"""`reminders import csv|hl7|fhir`: the schedule lands, reminders follow it, re-imports change nothing, and a bad
record is reported with its line while the good ones land. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders.cli import main
from clinic_reminders.db import make_engine, make_sessionmaker, transaction
from clinic_reminders.imports import csv_file, upsert
from clinic_reminders.models import Appointment, AuditEntry, ConsentEvent, Patient, Reminder, ReminderStatus
from tests.factories import make_import_office

FIXTURES = Path(__file__).parent.parent / "fixtures" / "imports"
DENVER = ZoneInfo("America/Denver")


@pytest.fixture(autouse=True)
def office(session_factory: sessionmaker[Session]) -> None:
    """The office as staff set it up: two clinics in two zones, one provider, the default reminder rules."""
    with transaction(session_factory) as db:
        make_import_office(db)


def run(database_url: str, fmt: str, source: Path | str, *args: str, log: str = "ERROR", **kwargs: Any) -> Result:
    command = ["--log-level", log, "import", fmt, str(source), "--database-url", database_url, *args]
    return CliRunner().invoke(main, command, catch_exceptions=False, **kwargs)


def imported(database_url: str, fmt: str, source: Path | str, *args: str, **kwargs: Any) -> str:
    result = run(database_url, fmt, source, *args, **kwargs)
    assert result.exit_code == 0, result.output
    return result.stdout


def edited(tmp_path: Path, name: str, old: str, new: str) -> Path:
    text = (FIXTURES / name).read_text()
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new))
    return path


def appointment(db: Session, external_id: str) -> Appointment:
    found = db.scalar(select(Appointment).where(Appointment.external_id == external_id))
    assert found is not None, external_id
    return found


def reminders(db: Session, external_id: str) -> dict[str, Reminder]:
    rows = db.scalars(select(Reminder).where(Reminder.appointment_id == appointment(db, external_id).id))
    return {row.rule.name: row for row in rows}


def denver(*args: int) -> datetime:
    return datetime(*args, tzinfo=DENVER).astimezone(UTC)  # type: ignore[misc]


def snapshot(db: Session) -> dict[str, Any]:
    return {
        "appointments": sorted((a.id, a.starts_at, a.status, a.updated_at) for a in db.scalars(select(Appointment))),
        "patients": sorted(
            (p.id, p.updated_at, tuple(x.number for x in p.phones)) for p in db.scalars(select(Patient))
        ),
        "reminders": sorted((r.id, r.status, r.due_at, r.updated_at) for r in db.scalars(select(Reminder))),
        "audit": db.scalar(select(func.count()).select_from(AuditEntry)),
        "consent": db.scalar(select(func.count()).select_from(ConsentEvent)),
    }


def test_it_imports_a_csv_schedule_and_plans_its_reminders(
    database_url: str, session_factory: sessionmaker[Session]
) -> None:
    out = imported(database_url, "csv", FIXTURES / "schedule.csv")
    assert "appointments: 3 created, 0 updated, 0 unchanged, 0 cancelled" in out
    assert "patients: 2 created, 0 updated, 0 unchanged" in out
    assert "rejected: 0 records" in out
    with session_factory() as db:
        first = appointment(db, "A1")
        assert first.starts_at == denver(2040, 6, 12, 9, 0)  # a time without offset is on the clinic's clock
        assert (first.clinic.name, first.provider and first.provider.name) == ("Riverside", "Maria Chen")
        assert (first.patient.external_id, first.patient.first_name, first.patient.language) == ("P1", "Ana", "es")
        planned = reminders(db, "A1")
        assert {r.status for r in planned.values()} == {ReminderStatus.PLANNED}
        assert planned["SMS 2 days before"].due_at == denver(2040, 6, 10, 10, 0)
        assert set(reminders(db, "A2")) == set(planned) == set(reminders(db, "A3"))
        assert appointment(db, "A2").kind == "telehealth"
        assert appointment(db, "A3").patient_id == first.patient_id
        assert first.patient.can_receive("sms")
        sources = db.scalars(select(ConsentEvent.source).where(ConsentEvent.patient_id == first.patient_id)).all()
        assert sources == ["import:csv", "import:csv"]  # consent to texts and calls, recorded


@pytest.mark.parametrize(
    ("fmt", "name"), [("csv", "schedule.csv"), ("hl7", "schedule.hl7"), ("fhir", "schedule.fhir.json")]
)
def test_it_changes_nothing_when_the_same_file_comes_again(
    database_url: str, session_factory: sessionmaker[Session], fmt: str, name: str
) -> None:
    imported(database_url, fmt, FIXTURES / name)
    with session_factory() as db:
        before = snapshot(db)
    again = imported(database_url, fmt, FIXTURES / name)
    assert " 0 created, 0 updated, " in again and "unchanged, 0 cancelled" in again
    with session_factory() as db:
        assert snapshot(db) == before


def test_it_moves_the_reminders_of_a_moved_appointment(
    database_url: str, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    imported(database_url, "csv", FIXTURES / "schedule.csv")
    with session_factory() as db:
        ids = {name: row.id for name, row in reminders(db, "A1").items()}
    moved = edited(tmp_path, "schedule.csv", "2040-06-12T09:00", "2040-06-19T14:00")
    assert "appointments: 0 created, 1 updated, 2 unchanged" in imported(database_url, "csv", moved)
    with session_factory() as db:
        assert appointment(db, "A1").starts_at == denver(2040, 6, 19, 14, 0)
        rows = reminders(db, "A1")
        assert {name: row.id for name, row in rows.items()} == ids  # the same rows, re-planned
        assert rows["SMS 2 days before"].due_at == denver(2040, 6, 17, 10, 0)
        assert rows["SMS 2 hours before"].due_at == denver(2040, 6, 19, 12, 0)


def test_it_cancels_the_reminders_of_a_cancelled_appointment(
    database_url: str, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    imported(database_url, "csv", FIXTURES / "schedule.csv")
    cancelled = edited(tmp_path, "schedule.csv", "45,telehealth,", "45,telehealth,cancelled")
    assert "1 cancelled" in imported(database_url, "csv", cancelled)
    with session_factory() as db:
        assert appointment(db, "A2").status == "cancelled"
        assert {r.status for r in reminders(db, "A2").values()} == {ReminderStatus.CANCELLED}
        assert {r.status for r in reminders(db, "A1").values()} == {ReminderStatus.PLANNED}
    assert "0 cancelled" in imported(database_url, "csv", cancelled)  # cancelling twice is harmless


def test_it_reports_a_bad_line_with_its_number_and_the_good_lines_land(
    database_url: str, session_factory: sessionmaker[Session]
) -> None:
    path = FIXTURES / "schedule_with_errors.csv"
    result = run(database_url, "csv", path, log="INFO")
    assert result.exit_code == 1
    assert [line for line in result.stderr.splitlines() if line.startswith(str(path))] == [
        f"{path}: line 3: starts_at: not an ISO 8601 date and time, e.g. 2030-01-15T09:30:00-05:00",
        f"{path}: line 5: mobile_phone: not a valid phone number for its country",
        f"{path}: line 6: clinic: no clinic named 'Uptown'",
    ]
    assert "appointments: 2 created" in result.stdout and "rejected: 3 records" in result.stdout
    with session_factory() as db:
        assert set(db.scalars(select(Appointment.external_id))) == {"A1", "A6"}
        assert set(db.scalars(select(Patient.external_id))) == {"P1", "P3"}  # line 6 rolled back as a whole
        assert len(reminders(db, "A6")) == 3
    marker = " clinic_reminders.imports.upsert: "  # the log lines' messages, without their timestamps
    logged = [line.partition(marker)[2] for line in result.stderr.splitlines() if marker in line]
    assert len(logged) == 4 and logged[2] == "import csv: line 6 rejected (field clinic)"
    for patient_data in ("Ana", "López", "Okafor", "1988", "555", "next Tuesday", "2040-06"):
        assert patient_data not in "\n".join(logged)


def test_it_books_then_moves_and_cancels_from_hl7_messages(
    database_url: str, session_factory: sessionmaker[Session]
) -> None:
    assert "appointments: 2 created" in imported(database_url, "hl7", FIXTURES / "schedule.hl7")
    segments = (FIXTURES / "changes.hl7").read_text().splitlines()
    framed = "".join(f"\x0b{chr(13).join(segments[i : i + 5])}\r\x1c\r" for i in (0, 5))  # MLLP, on stdin
    out = imported(database_url, "hl7", "-", input=framed.encode())
    assert "appointments: 0 created, 1 updated, 0 unchanged, 1 cancelled" in out
    with session_factory() as db:
        assert appointment(db, "A1").starts_at == denver(2040, 6, 19, 14, 0)
        assert reminders(db, "A1")["SMS 2 days before"].due_at == denver(2040, 6, 17, 10, 0)
        assert appointment(db, "A2").status == "cancelled"
        assert {r.status for r in reminders(db, "A2").values()} == {ReminderStatus.CANCELLED}


def test_an_adt_update_changes_the_patient_and_leaves_the_schedule_alone(
    database_url: str, session_factory: sessionmaker[Session]
) -> None:
    imported(database_url, "hl7", FIXTURES / "schedule.hl7")
    update = "\r".join(
        [
            "MSH|^~\\&|PMS|RIVERSIDE|REMINDERS|OFFICE|20400102120000-0700||ADT^A08^ADT_A01|MSG0100|P|2.5.1",
            "EVN|A08|20400102120000-0700",
            "PID|1||P1^^^PMS^MR||López^Ana||19800115|F|||||^PRN^CP^^1^303^5550177||ENG^English",
            "PV1|1|O",
            "",
        ]
    )
    with session_factory() as db:
        before = snapshot(db)
    out = imported(database_url, "hl7", "-", input=update.encode())
    assert "appointments: 0 created, 0 updated, 0 unchanged, 0 cancelled" in out
    assert "patients: 0 created, 1 updated, 0 unchanged" in out
    with session_factory() as db:
        after = snapshot(db)
        patient = appointment(db, "A1").patient
        assert [phone.number for phone in patient.phones] == ["+13035550177"]
        assert patient.language == "en"
    assert (after["appointments"], after["reminders"]) == (before["appointments"], before["reminders"])
    assert imported(database_url, "hl7", "-", input=update.encode()).count("1 unchanged") == 1  # the same again


def test_it_lands_a_fhir_bundle_as_the_same_schedule_in_csv(
    database_url: str, session_factory: sessionmaker[Session]
) -> None:
    out = imported(database_url, "fhir", FIXTURES / "schedule.fhir.json")
    assert "appointments: 2 created" in out and "patients: 2 created" in out
    with session_factory() as db:
        assert reminders(db, "A1")["SMS 2 days before"].due_at == denver(2040, 6, 10, 10, 0)
        assert (appointment(db, "A2").duration_minutes, appointment(db, "A2").kind) == (45, "telehealth")
    out = imported(database_url, "csv", FIXTURES / "schedule.csv")
    assert "appointments: 1 created, 0 updated, 2 unchanged" in out
    assert "patients: 0 created, 0 updated, 2 unchanged" in out


def test_it_gives_records_without_a_clinic_the_default_one(
    database_url: str, session_factory: sessionmaker[Session]
) -> None:
    csv = "patient_id,first_name,last_name,appointment_id,starts_at\nP9,Ivy,Lee,A9,2040-06-12T09:00\n"
    missing = run(database_url, "csv", "-", input=csv)
    assert missing.exit_code == 1 and "line 2: clinic: missing" in missing.stderr
    imported(database_url, "csv", "-", input=csv, env={"REMINDERS_IMPORT_CLINIC": "riverside"})
    with session_factory() as db:
        assert appointment(db, "A9").clinic.name == "Riverside"


@pytest.mark.parametrize(
    ("fmt", "name"), [("fhir", "schedule.csv"), ("hl7", "schedule.fhir.json"), ("csv", "schedule.hl7")]
)
def test_it_exits_2_for_another_format_and_writes_nothing(
    database_url: str, session_factory: sessionmaker[Session], fmt: str, name: str
) -> None:
    result = run(database_url, fmt, FIXTURES / name)
    assert result.exit_code == 2, result.output
    with session_factory() as db:
        assert db.scalar(select(func.count()).select_from(Patient)) == 0


def test_it_refuses_the_last_line_of_a_csv_file_cut_inside_a_name_and_imports_the_others(
    database_url: str, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    data = (FIXTURES / "schedule.csv").read_bytes()
    third = data.index(b"\nP1,Ana,L\xc3\xb3pez", data.index(b"A2")) + 1
    path = tmp_path / "cut.csv"
    path.write_bytes(data[: third + len("P1,Ana,Ló")])  # "López" cut to "Ló"
    result = run(database_url, "csv", path)
    assert result.exit_code == 1
    assert f"{path}: line 4: last_name: the file ends inside this line, before its line break" in result.stderr
    assert "appointments: 2 created" in result.stdout
    with session_factory() as db:
        assert sorted(db.scalars(select(Patient.last_name))) == ["López", "Okafor"]
        assert set(db.scalars(select(Appointment.external_id))) == {"A1", "A2"}


def test_it_refuses_an_hl7_message_cut_inside_the_given_name(
    database_url: str, session_factory: sessionmaker[Session]
) -> None:
    text = (FIXTURES / "schedule.hl7").read_text().replace("Okafor^Ben", "Okafor^Hana")
    cut = text[: text.index("Okafor^Ha") + len("Okafor^Ha")]
    result = run(database_url, "hl7", "-", input=cut.encode())
    assert result.exit_code == 1
    assert "<stdin>: message 2 (control id MSG0002): PID-5.2: the file ends inside this segment" in result.stderr
    with session_factory() as db:
        assert list(db.scalars(select(Patient.first_name))) == ["Ana"]


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b'{"resourceType": "Bundle", "entry": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", "nested deeper than 64"),
        (b'{"resourceType": "Bundle", "total": ' + b"7" * 5000 + b', "entry": []}', "a number longer than 32"),
    ],
    ids=["deep", "5000-digits"],
)
def test_it_exits_2_in_one_line_for_a_fhir_file_past_the_parsing_bounds(
    database_url: str, session_factory: sessionmaker[Session], data: bytes, says: str
) -> None:
    result = run(database_url, "fhir", "-", input=data)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: <stdin>: ") and says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    with session_factory() as db:
        assert db.scalar(select(func.count()).select_from(Patient)) == 0


def test_it_refuses_a_nul_in_a_name_naming_the_field_and_stores_nothing_of_the_line(
    database_url: str, session_factory: sessionmaker[Session]
) -> None:
    csv = "patient_id,first_name,last_name,appointment_id,clinic,starts_at\n"
    csv += "P9,Iv\x00y,Lee,A9,Riverside,2040-06-12T09:00\n"
    result = run(database_url, "csv", "-", input=csv)
    assert result.exit_code == 1
    assert "<stdin>: line 2: first_name: holds a control character (such as NUL" in result.stderr
    with session_factory() as db:
        assert db.scalar(select(func.count()).select_from(Patient)) == 0


def test_it_writes_nothing_when_the_same_file_comes_again(database_url: str) -> None:
    imported(database_url, "csv", FIXTURES / "schedule.csv")
    engine = make_engine(database_url)
    writes: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            writes.append(statement)

    sessions = make_sessionmaker(engine)
    summary = upsert.run(sessions, csv_file.read((FIXTURES / "schedule.csv").read_bytes(), "US"), "csv")
    engine.dispose()
    assert summary.appointments[upsert.Outcome.UNCHANGED] == 3
    assert writes == []


def test_a_record_the_database_refuses_leaves_the_others_of_its_batch_in(
    database_url: str, session_factory: sessionmaker[Session]
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the refusal is a SQLite trigger")
    with session_factory() as db, db.begin():  # as if another import had just taken P2's id
        db.execute(
            text(
                "CREATE TRIGGER refuse_p2 BEFORE INSERT ON patients WHEN NEW.external_id = 'P2' "
                "BEGIN SELECT RAISE(ABORT, 'UNIQUE constraint failed: patients.external_id'); END"
            )
        )
    result = run(database_url, "csv", FIXTURES / "schedule.csv")
    assert result.exit_code == 1
    assert f"{FIXTURES / 'schedule.csv'}: line 3: record: the database refused it; import it again" in result.stderr
    assert "appointments: 2 created" in result.stdout
    with session_factory() as db:
        assert set(db.scalars(select(Appointment.external_id))) == {"A1", "A3"}
        assert len(reminders(db, "A3")) == 3
