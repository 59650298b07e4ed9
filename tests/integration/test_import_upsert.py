"""The upsert rules every format shares: what an import may change, what it never undoes, what it refuses."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders import accounts, booking
from clinic_reminders.db import transaction
from clinic_reminders.imports import upsert
from clinic_reminders.imports.records import (
    AppointmentRecord,
    Code,
    ImportStatus,
    Notice,
    PatientRecord,
    PhoneRecord,
    PhoneUse,
    Record,
    Rejection,
)
from clinic_reminders.models import (
    Appointment,
    AppointmentStatus,
    AuditEntry,
    Channel,
    ConsentEvent,
    Patient,
    PhoneKind,
    Reminder,
    ReminderStatus,
)
from clinic_reminders.patient_changes import set_opted_out
from tests.factories import make_clinic, make_provider

DENVER = ZoneInfo("America/Denver")
ANA = PatientRecord("P1", "Ana", "Lopez", language="es", phones=(PhoneRecord("+13035550142", PhoneUse.MOBILE),))
VISIT = AppointmentRecord("A1", "P1", datetime(2040, 6, 12, 9, 0), clinic="Riverside", provider="Maria Chen")


@pytest.fixture(autouse=True)
def office(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as db:
        office = accounts.the_office(db)
        riverside = make_clinic(db, office, name="Riverside", timezone="America/Denver", phone="+13035550100")
        make_clinic(db, office, name="Old Town", active=False)
        make_provider(db, office, riverside, name="Maria Chen", title="Dr.")


def run(sessions: sessionmaker[Session], *records: Record | Rejection) -> upsert.Summary:
    return upsert.run(sessions, list(records), "test")


def visit(db: Session) -> Appointment:
    found = db.scalar(select(Appointment).where(Appointment.external_id == "A1"))
    assert found is not None
    return found


def reminder_statuses(db: Session) -> list[str]:
    return sorted(db.scalars(select(Reminder.status).where(Reminder.appointment_id == visit(db).id)))


def moved(at: int) -> AppointmentRecord:
    return AppointmentRecord("A1", "P1", datetime(2040, 6, 12, at, 0), clinic="Riverside")


def test_it_never_undoes_a_patients_answer(session_factory: sessionmaker[Session]) -> None:
    run(session_factory, Record("line 2", ANA, VISIT))
    with transaction(session_factory) as db:
        booking.cancel(db, visit(db), "patient:sms")  # the patient texted "cancel"
        set_opted_out(db, visit(db).patient, Channel.SMS, True, "sms:STOP")
    again = run(session_factory, Record("line 2", ANA, VISIT))
    assert again.appointments[upsert.Outcome.UNCHANGED] == 1
    with session_factory() as db:
        assert visit(db).status == AppointmentStatus.CANCELLED
        assert not visit(db).patient.can_receive("sms")
    run(session_factory, Record("line 2", ANA, moved(11)))  # the office found a new time: booked again
    with session_factory() as db:
        assert visit(db).status == AppointmentStatus.SCHEDULED
        assert not visit(db).patient.can_receive("sms")  # consent is the patient's, not the import's


def test_it_keeps_a_confirmed_appointment_confirmed(session_factory: sessionmaker[Session]) -> None:
    run(session_factory, Record("line 2", ANA, VISIT))
    with transaction(session_factory) as db:
        booking.set_status(db, visit(db), AppointmentStatus.CONFIRMED, "patient:sms")
    run(session_factory, Record("line 2", ANA, moved(10)))
    with session_factory() as db:
        assert visit(db).status == AppointmentStatus.CONFIRMED
        assert visit(db).starts_at == datetime(2040, 6, 12, 10, 0, tzinfo=DENVER).astimezone(UTC)


def test_it_books_again_what_an_import_had_cancelled(session_factory: sessionmaker[Session]) -> None:
    cancelled = AppointmentRecord("A1", "P1", VISIT.starts_at, clinic="Riverside", status=ImportStatus.CANCELLED)
    run(session_factory, Record("message 1", ANA, VISIT), Record("message 2", ANA, cancelled))
    summary = run(session_factory, Record("message 3", ANA, VISIT))
    assert summary.appointments[upsert.Outcome.UPDATED] == 1
    with session_factory() as db:
        assert visit(db).status == AppointmentStatus.SCHEDULED


def test_it_rejects_a_status_move_booking_refuses_and_changes_nothing(
    session_factory: sessionmaker[Session],
) -> None:
    run(session_factory, Record("line 2", ANA, VISIT))
    with transaction(session_factory) as db:
        booking.set_status(db, visit(db), AppointmentStatus.COMPLETED, "staff:1")
    cancel = AppointmentRecord("A1", "P1", datetime(2040, 6, 12, 15, 0), status=ImportStatus.CANCELLED)
    summary = run(session_factory, Record("line 7", ANA, cancel))
    assert summary.rejections == [
        Rejection("line 7", "status", "an appointment that is completed cannot become cancelled")
    ]
    with session_factory() as db:
        assert visit(db).starts_at == datetime(2040, 6, 12, 9, 0, tzinfo=DENVER).astimezone(UTC)  # rolled back


def test_it_keeps_what_is_stored_for_values_not_given(session_factory: sessionmaker[Session]) -> None:
    run(session_factory, Record("line 2", ANA, VISIT))
    with transaction(session_factory) as db:
        visit(db).patient.phones[0].kind = PhoneKind.LANDLINE  # learned from Twilio
    bare_patient = PatientRecord("P1", "Ana", "Lopez-Diaz")
    bare_visit = AppointmentRecord("A1", "P1", VISIT.starts_at)
    summary = run(session_factory, Record("line 2", bare_patient, bare_visit))
    assert summary.patients == {"P1": upsert.Outcome.UPDATED}
    assert summary.appointments[upsert.Outcome.UNCHANGED] == 1
    with session_factory() as db:
        patient, appointment = visit(db).patient, visit(db)
        assert (patient.last_name, patient.language) == ("Lopez-Diaz", "es")
        assert [(p.number, p.kind) for p in patient.phones] == [("+13035550142", "landline")]
        assert (appointment.clinic.name, appointment.provider and appointment.provider.name) == (
            "Riverside",
            "Maria Chen",
        )
    run(session_factory, Record("line 2", ANA, VISIT))  # phones given again: the learned kind is kept
    with session_factory() as db:
        assert visit(db).patient.phones[0].kind == "landline"


def test_it_books_an_appointment_for_a_patient_imported_before(session_factory: sessionmaker[Session]) -> None:
    summary = run(session_factory, Record("entry 1", patient=ANA), Record("entry 2", appointment=VISIT))
    assert (summary.patients, summary.appointments[upsert.Outcome.CREATED]) == ({"P1": upsert.Outcome.CREATED}, 1)
    with session_factory() as db:
        assert visit(db).patient.external_id == "P1"
        assert reminder_statuses(db) == ["planned"] * 3


@pytest.mark.parametrize(
    ("record", "field", "message"),
    [
        (
            Record("entry 2", appointment=AppointmentRecord("A1", "P404", VISIT.starts_at, clinic="Riverside")),
            "patient",
            "no patient with this id in the file or in the office",
        ),
        (
            Record("line 2", ANA, AppointmentRecord("A1", "P1", VISIT.starts_at)),
            "clinic",
            "missing; name it in the file, or give the import a default clinic",
        ),
        (
            Record("line 2", ANA, AppointmentRecord("A1", "P1", VISIT.starts_at, clinic="Old Town")),
            "clinic",
            "clinic 2 is deactivated",
        ),
        (
            Record(
                "line 2", ANA, AppointmentRecord("A1", "P1", VISIT.starts_at, clinic="riverside", provider="Dr. No")
            ),
            "provider",
            "no provider named 'Dr. No'",
        ),
    ],
)
def test_it_rejects_what_the_office_does_not_know(
    session_factory: sessionmaker[Session], record: Record, field: str, message: str
) -> None:
    summary = run(session_factory, record)
    assert summary.rejections == [Rejection(record.where, field, message)]
    with session_factory() as db:
        assert db.scalars(select(Patient)).all() == []  # the record's patient is rolled back with it


def test_it_logs_a_rejected_record_without_patient_data(
    session_factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="clinic_reminders.imports")
    unknown = AppointmentRecord("A2", "P1", VISIT.starts_at, clinic="Lopez Family Clinic")
    run(session_factory, Record("line 2", ANA, VISIT), Record("line 3", ANA, unknown))
    assert [r.getMessage() for r in caplog.records] == [
        "import test: line 3 rejected (field clinic)",
        "import test: appointments: 1 created, 0 updated, 0 unchanged, 0 cancelled; "
        "patients: 1 created, 0 updated, 0 unchanged; rejected: 1 record",
    ]


def test_it_cancels_the_reminders_of_an_imported_no_show(session_factory: sessionmaker[Session]) -> None:
    no_show = AppointmentRecord("A1", "P1", VISIT.starts_at, status=ImportStatus.NO_SHOW)
    run(session_factory, Record("message 1", ANA, VISIT), Record("message 2", ANA, no_show))
    with session_factory() as db:
        assert visit(db).status == AppointmentStatus.NO_SHOW
        assert reminder_statuses(db) == [ReminderStatus.CANCELLED] * 3


def test_it_takes_the_records_of_one_appointment_in_one_file_in_their_order(
    session_factory: sessionmaker[Session],
) -> None:
    summary = run(session_factory, Record("message 1", ANA, VISIT), Record("message 2", ANA, moved(11)))
    assert (summary.appointments[upsert.Outcome.CREATED], summary.appointments[upsert.Outcome.UPDATED]) == (1, 1)
    with session_factory() as db:
        assert visit(db).starts_at == datetime(2040, 6, 12, 11, 0, tzinfo=DENVER).astimezone(UTC)
        planned = db.scalars(select(Reminder).where(Reminder.appointment_id == visit(db).id)).all()
        assert {r.planned_for for r in planned} == {visit(db).starts_at} and len(planned) == 3


def test_it_moves_a_stored_appointment_to_a_patient_the_same_batch_creates(
    session_factory: sessionmaker[Session],
) -> None:
    run(session_factory, Record("line 2", ANA, VISIT))
    ben = PatientRecord("P2", "Ben", "Okafor", phones=(PhoneRecord("+12125550143", PhoneUse.MOBILE),))
    for_ben = AppointmentRecord("A1", "P2", VISIT.starts_at, clinic="Riverside")
    summary = run(
        session_factory, Record("line 2", ben, for_ben), Record("line 3", replace(ben, last_name="Okafor-Li"))
    )
    assert summary.patients == {"P2": upsert.Outcome.CREATED} and summary.appointments[upsert.Outcome.UPDATED] == 1
    with session_factory() as db:
        patient = visit(db).patient
        assert (patient.external_id, patient.last_name) == ("P2", "Okafor-Li")
        assert [p.number for p in patient.phones] == ["+12125550143"]
        assert (
            db.scalar(select(func.count()).select_from(ConsentEvent).where(ConsentEvent.patient_id == patient.id)) == 2
        )


def test_it_imports_across_batches_as_in_one(session_factory: sessionmaker[Session]) -> None:
    records = [
        Record(f"line {n + 2}", ANA, AppointmentRecord(f"A{n}", "P1", datetime(2040, 6, 1 + n, 9), clinic="Riverside"))
        for n in range(5)
    ]
    summary = upsert.run(session_factory, records, "test", batch_size=2)
    assert summary.patients == {"P1": upsert.Outcome.CREATED} and summary.appointments[upsert.Outcome.CREATED] == 5
    again = upsert.run(session_factory, records, "test", batch_size=2)
    assert again.appointments[upsert.Outcome.UNCHANGED] == 5 and again.patients == {"P1": upsert.Outcome.UNCHANGED}
    with session_factory() as db:
        assert db.scalar(select(func.count()).select_from(Patient)) == 1
        assert db.scalar(select(func.count()).select_from(Reminder)) == 15


def test_a_rejected_record_leaves_the_good_ones_of_its_batch_in(session_factory: sessionmaker[Session]) -> None:
    nowhere = AppointmentRecord("A2", "P2", VISIT.starts_at, clinic="Uptown")
    ben = PatientRecord("P2", "Ben", "Okafor")
    summary = run(session_factory, Record("line 2", ANA, VISIT), Record("line 3", ben, nowhere), Record("line 4", ben))
    assert summary.rejections == [Rejection("line 3", "clinic", "no clinic named 'Uptown'")]
    with session_factory() as db:
        assert sorted(db.scalars(select(Patient.external_id))) == ["P1", "P2"]  # P2 from line 4 alone
        assert db.scalar(select(func.count()).select_from(Appointment)) == 1


def updates(db: Session) -> list[tuple[str, dict[str, object]]]:
    entries = db.execute(select(AuditEntry.entity, AuditEntry.detail).where(AuditEntry.action == "update"))
    return sorted((entity, detail) for entity, detail in entries)


def test_it_applies_a_change_that_follows_an_unchanged_line_of_the_same_batch(
    session_factory: sessionmaker[Session],
) -> None:
    """Stored rows a batch only compares stay plain rows; one that a later line changes is loaded to change."""
    run(session_factory, Record("line 2", ANA, VISIT))
    summary = run(
        session_factory,
        Record("line 2", ANA, VISIT),
        Record("line 3", replace(ANA, last_name="Lopez-Diaz"), replace(VISIT, starts_at=datetime(2040, 6, 12, 11))),
    )
    assert summary.patients == {"P1": upsert.Outcome.UPDATED}
    assert (summary.appointments[upsert.Outcome.UNCHANGED], summary.appointments[upsert.Outcome.UPDATED]) == (1, 1)
    with session_factory() as db:
        assert visit(db).patient.last_name == "Lopez-Diaz"
        assert visit(db).starts_at == datetime(2040, 6, 12, 11, 0, tzinfo=DENVER).astimezone(UTC)
        planned = db.scalars(select(Reminder.planned_for).where(Reminder.status == ReminderStatus.PLANNED)).all()
        assert set(planned) == {visit(db).starts_at}
        assert updates(db) == [("appointment", {"fields": ["starts_at"]}), ("patient", {"fields": ["last_name"]})]


def test_it_audits_a_change_undone_by_a_later_line_of_the_same_batch(session_factory: sessionmaker[Session]) -> None:
    run(session_factory, Record("line 2", ANA, VISIT))
    renamed = replace(ANA, last_name="Lopez-Diaz")
    summary = run(session_factory, Record("line 2", renamed), Record("line 3", ANA))
    assert summary.patients == {"P1": upsert.Outcome.UPDATED}
    with session_factory() as db:
        assert visit(db).patient.last_name == "Lopez"
        assert updates(db) == [("patient", {"fields": ["last_name"]})] * 2


def test_it_takes_a_stored_appointments_clinic_when_the_record_names_none(
    session_factory: sessionmaker[Session],
) -> None:
    run(session_factory, Record("line 2", ANA, VISIT))
    same = AppointmentRecord("A1", "P1", VISIT.starts_at)
    later = AppointmentRecord("A1", "P1", datetime(2040, 6, 12, 10, 0))
    assert run(session_factory, Record("line 2", appointment=same)).appointments[upsert.Outcome.UNCHANGED] == 1
    assert run(session_factory, Record("line 2", appointment=later)).appointments[upsert.Outcome.UPDATED] == 1
    with session_factory() as db:
        assert visit(db).starts_at == datetime(2040, 6, 12, 10, 0, tzinfo=DENVER).astimezone(UTC)  # Riverside's
        assert updates(db) == [("appointment", {"fields": ["starts_at"]})]


def test_a_record_that_changes_nothing_is_reported_with_its_warnings(session_factory: sessionmaker[Session]) -> None:
    """A re-imported record finds what it made and changes nothing; its report still carries what the reader
    and the placing of its appointment warned of."""
    unmapped = replace(VISIT, clinic=None, location=Code("RIV-9", "AIL-3"))
    record = Record("message 1", ANA, unmapped, notices=(Notice("message 1", "PID-14", "this number is dropped"),))
    first = run(session_factory, record)
    assert [n.field for n in first.warnings] == ["PID-14", "AIL-3"]
    again = run(session_factory, record)
    assert again.appointments[upsert.Outcome.UNCHANGED] == 1 and again.patients == {"P1": upsert.Outcome.UNCHANGED}
    stays = "unknown location code 'RIV-9': the appointment stays at its clinic; map it on the configuration page"
    assert [(n.field, n.message) for n in again.warnings] == [("PID-14", "this number is dropped"), ("AIL-3", stays)]
