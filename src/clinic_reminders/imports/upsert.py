"""The one path from imported records into the office: patients and appointments found by their external id.

Each record is imported or rejected as a whole, and a rejected one leaves the others in place. Records go in
batches of `BATCH_SIZE`, one transaction each: a record is checked against what the office holds (and what the
batch's earlier records made) before anything of it is applied, so a record that fails a check changes nothing;
appointments change only through `booking.Batch`, which audits the changes and re-plans the batch's reminders
together before the commit. Should the database still refuse a batch (a patient created meanwhile by another
import, say), its records are imported again one per transaction, so that the refusal falls on its record
alone. Re-importing a file changes nothing and writes nothing. The rules, the same for every format:

- A new patient consents to texts and calls, recorded as consent events from `import:<format>` (as a patient
  added through the API); an existing patient's consent and opt-outs are never touched by an import.
- A value the record does not give keeps what is stored; phones, when any is given, replace the patient's list
  (a number kept keeps its history and its kind once known, such as a landline mark learned from Twilio).
- A scheduled record does not undo a patient's answer: a confirmed appointment stays confirmed, and a cancelled
  or reschedule-requested one is booked again only when the record moves it (the office found a new time) or
  when it was an import that had cancelled it.
"""

from __future__ import annotations

import gc
import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from .. import accounts, audit, booking, planning
from ..db import transaction
from ..followup import recall
from ..models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    Clinic,
    Office,
    Patient,
    PatientPhone,
    PhoneKind,
    Provider,
    utcnow,
)
from ..patient_changes import set_phones
from . import placing
from .known import Known, StoredAppointment, StoredPatient, StoredPhone
from .new_patients import NewPatient, NewPatients, NewPhone
from .records import AppointmentRecord, ImportStatus, Items, Notice, PatientRecord, Record, RecordError, Rejection

logger = logging.getLogger(__name__)

_STATUSES = {
    ImportStatus.SCHEDULED: AppointmentStatus.SCHEDULED,
    ImportStatus.CANCELLED: AppointmentStatus.CANCELLED,
    ImportStatus.NO_SHOW: AppointmentStatus.NO_SHOW,
}


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    CANCELLED = "cancelled"


_STRONGER = [Outcome.CREATED, Outcome.UPDATED, Outcome.UNCHANGED]
BATCH_SIZE = 1000  # records per transaction: a SQLite writer holds the database for a fraction of a second


@dataclass
class Summary:
    appointments: Counter[Outcome] = field(default_factory=Counter)
    patients: dict[str, Outcome] = field(default_factory=dict)  # by external id: a patient on ten lines is one
    rejections: list[Rejection] = field(default_factory=list)
    warnings: list[Notice] = field(default_factory=list)  # about records imported (`placing`, the readers)

    def count_patient(self, external_id: str, outcome: Outcome) -> None:
        earlier = self.patients.get(external_id, Outcome.UNCHANGED)
        self.patients[external_id] = min(earlier, outcome, key=_STRONGER.index)

    def lines(self) -> list[str]:
        appointments = ", ".join(f"{self.appointments[o]} {o}" for o in Outcome)
        patients = Counter(self.patients.values())
        return [
            f"appointments: {appointments}",
            f"patients: {', '.join(f'{patients[o]} {o}' for o in _STRONGER)}",
            f"rejected: {len(self.rejections)} record{'' if len(self.rejections) == 1 else 's'}",
            *([f"warnings: {len(self.warnings)}"] if self.warnings else []),
        ]


def run(
    sessions: sessionmaker[Session],
    items: Items,
    source: str,
    default_clinic: str | None = None,
    batch_size: int = BATCH_SIZE,
    office_id: int | None = None,
) -> Summary:
    """Import every record that can be into office `office_id` (None: the deployment's first office); `source`
    ("csv", "hl7", "fhir") names the import in the audit trail."""
    actor = f"import:{source}"
    summary = Summary()
    with _spared_by_the_collector(len(items) > batch_size):
        for start in range(0, len(items), batch_size):
            for result in _batches(sessions, items[start : start + batch_size], actor, default_clinic, office_id):
                if isinstance(result, Rejection):
                    logger.warning("import %s: %s rejected (field %s)", source, result.where, result.field)
                    summary.rejections.append(result)
                    continue
                for notice in result.notices:
                    logger.warning("import %s: %s warned (field %s)", source, notice.where, notice.field)
                summary.warnings += result.notices
                if result.patient is not None:
                    summary.count_patient(*result.patient)
                if result.appointment is not None:
                    summary.appointments[result.appointment] += 1
    logger.info("import %s: %s", source, "; ".join(summary.lines()))
    return summary


@contextmanager
def _spared_by_the_collector(large: bool) -> Iterator[None]:
    """For a large import, the objects that exist before it (its records above all) are frozen out of the
    garbage collector's reach until it ends: they live to the end anyway, and each full pass of the collector,
    which every batch's thousands of new objects bring on, would walk them all again (a tenth of the time of a
    100,000-line file). What the batches create is collected as usual."""
    if not large:
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@dataclass(frozen=True)
class _Imported:
    patient: tuple[str, Outcome] | None  # (external id, outcome)
    appointment: Outcome | None
    notices: tuple[Notice, ...] = ()


def _batches(
    sessions: sessionmaker[Session], items: Items, actor: str, default_clinic: str | None, office_id: int | None
) -> list[_Imported | Rejection]:
    """The results of `items`, in their order, once committed: as few transactions as `_Upsert` allows."""
    results: list[_Imported | Rejection] = []
    while items:
        done, items = _batch(sessions, items, actor, default_clinic, office_id)
        results += done
    return results


def _batch(
    sessions: sessionmaker[Session], items: Items, actor: str, default_clinic: str | None, office_id: int | None
) -> tuple[list[_Imported | Rejection], Items]:
    """One transaction: the results of the items it took, and the items left for the next one."""
    records = [item for item in items if isinstance(item, Record)]
    if not records:
        return [item for item in items if isinstance(item, Rejection)], []
    try:
        with transaction(sessions) as db:
            results = _Upsert(db, records, actor, default_clinic, office_id).apply(items)
    except (IntegrityError, DataError):  # e.g. the same id created meanwhile by another import
        if len(records) == 1:
            refused = Rejection(records[0].where, "record", "the database refused it; import it again")
            return [refused if isinstance(item, Record) else item for item in items], []
        again = [result for item in items for result in _batches(sessions, [item], actor, default_clinic, office_id)]
        return again, []
    return results, items[len(results) :]


class _Upsert:
    """A batch of records applied in one session, each checked in full before any of it is applied.

    New patients and appointments stay out of the session until the end of the batch, where each kind is
    inserted in one statement (`NewPatients`, `booking.Batch`). Stored patients and appointments are compared
    as plain rows, and only those that a record may change are loaded as ORM objects (`_may_change`). The batch
    ends early, before a record that comes back to an appointment the batch created: that record goes first in
    the next batch.
    """

    def __init__(
        self, db: Session, records: Sequence[Record], actor: str, default_clinic: str | None, office_id: int | None
    ) -> None:
        self.db = db
        self.actor = actor
        self.default_clinic = default_clinic
        office = db.get(Office, office_id) if office_id is not None else accounts.the_office(db)
        assert office is not None, "the import's office is checked by its caller"
        self.office = office
        self.known = Known(db, self.office, records)
        self._checked: dict[int, _Visit] = {}  # by id() of the record: the checks `_may_change` made
        self.known.load_for_change(*self._may_change(records))
        self.now = utcnow()  # the batch's instant: the time of every row it writes
        self.new_patients = NewPatients(db, actor, self.now)
        self.bookings = booking.Batch(db, self.office, self.now)
        self._created: set[str] = set()  # external ids of the appointments created
        self._updates: list[tuple[Patient | NewPatient, list[str]]] = []  # patients changed, for the audit trail

    def _may_change(self, records: Sequence[Record]) -> tuple[set[str], set[str]]:
        """The stored patients and appointments (by external id) that a record of the batch may change: those
        with a record that differs from what is stored. The others stay plain rows: each of their records finds
        what is stored, and so changes nothing, whatever the batch's earlier records did."""
        patients: set[str] = set()
        appointments: set[str] = set()
        for record in records:
            if record.patient is not None and self._may_change_patient(record.patient):
                patients.add(record.patient.external_id)
            if record.appointment is not None and self._may_change_appointment(record):
                appointments.add(record.appointment.external_id)
        return patients, appointments

    def _may_change_patient(self, record: PatientRecord) -> bool:
        stored = self.known.patients.get(record.external_id)
        if not isinstance(stored, StoredPatient):
            return False  # new: made as plain data
        return bool(_changed_values(stored, record)) or (
            bool(record.phones) and not _same_phones(stored, _phones(stored, record))
        )

    def _may_change_appointment(self, item: Record) -> bool:
        assert item.appointment is not None
        if not isinstance(self.known.appointments.get(item.appointment.external_id), StoredAppointment):
            return False  # new: made as plain data
        try:
            visit = self._check_appointment(item)
        except (RecordError, booking.BookingError):
            return True  # checked again in its turn, after the batch's earlier records (a patient they create)
        self._checked[id(item)] = visit
        patient = self.known.patients.get(item.appointment.patient_external_id)
        if not isinstance(patient, StoredPatient):
            return True  # a patient the batch creates
        return visit.status is not None or bool(_changes(visit, patient.id))

    def apply(self, items: Items) -> list[_Imported | Rejection]:
        """The results of the leading items applied (all of them, unless the batch ended early)."""
        results: list[_Imported | Rejection] = []
        for item in items:
            if isinstance(item, Record) and item.appointment and item.appointment.external_id in self._created:
                break
            if isinstance(item, Rejection):
                results.append(item)
                continue
            if item.appointment is not None:
                self.known.saw(item.appointment)
            try:
                results.append(self._record(item))
            except (RecordError, booking.BookingError) as exc:
                results.append(Rejection(item.where, exc.field, exc.message))
        self.known.write_sightings(self.now)
        self.db.flush()
        self.new_patients.insert()
        self._recall_dues(items[: len(results)], results)
        audit.record_all(
            self.db,
            [audit.entry(self.office.id, self.actor, "update", "patient", p.id, fields=f) for p, f in self._updates],
            at=self.now,
        )
        self.bookings.finish()
        return results

    def _recall_dues(self, items: Items, results: Sequence[_Imported | Rejection]) -> None:
        """The recall due dates the imported records give (`followup.recall`), once their patients have ids."""
        for item, result in zip(items, results, strict=True):
            record = item.patient if isinstance(item, Record) and isinstance(result, _Imported) else None
            if record is None or record.recall_due is None:
                continue
            patient = self.known.patients.get(record.external_id)
            if patient is not None and patient.id is not None:
                recall.set_due(self.db, self.office, patient.id, record.recall_due)

    def _record(self, item: Record) -> _Imported:
        if self._finds_what_is_stored(item):
            return self._unchanged(item)
        visit = self._check_appointment(item) if item.appointment is not None else None
        counted = None
        if item.patient is not None:
            counted = (item.patient.external_id, self._upsert_patient(item.patient))
        if visit is None:
            return _Imported(counted, None, item.notices)
        return _Imported(counted, self._upsert_appointment(visit), item.notices + tuple(visit.notices))

    def _finds_what_is_stored(self, item: Record) -> bool:
        """Whether what the record names is stored and stayed a plain row: no record of the batch changes it
        (`_may_change`), so the record changes nothing and need not be checked again."""
        return (
            item.patient is None or isinstance(self.known.patients.get(item.patient.external_id), StoredPatient)
        ) and (
            item.appointment is None
            or isinstance(self.known.appointments.get(item.appointment.external_id), StoredAppointment)
        )

    def _unchanged(self, item: Record) -> _Imported:
        """The result of a record that finds what is stored, with the warnings of the check `_may_change` made of
        its appointment (the same now: nothing it compared has changed)."""
        patient = None if item.patient is None else (item.patient.external_id, Outcome.UNCHANGED)
        if item.appointment is None:
            return _Imported(patient, None, item.notices)
        return _Imported(patient, Outcome.UNCHANGED, item.notices + tuple(self._checked[id(item)].notices))

    def _upsert_patient(self, record: PatientRecord) -> Outcome:
        patient = self.known.patients.get(record.external_id)
        if patient is None:
            new = NewPatient(self.office.id, record.external_id, record.first_name, record.last_name)
            new.date_of_birth, new.language = record.date_of_birth, record.language
            new.set_phones(record.phones)
            self.new_patients.add(new)
            self.known.patients[record.external_id] = new
            return Outcome.CREATED
        values = _changed_values(patient, record)
        phones = _phones(patient, record)
        new_phones = bool(record.phones) and not _same_phones(patient, phones)
        if not values and not new_phones:
            return Outcome.UNCHANGED
        assert not isinstance(patient, StoredPatient), "loaded by `Known.load_for_change`: a record changes it"
        changed = sorted(values)
        for key in changed:
            setattr(patient, key, values[key])
        if new_phones:
            changed_phones = (
                patient.set_phones(phones) if isinstance(patient, NewPatient) else set_phones(patient, phones)
            )
            if changed_phones:
                changed.append("phones")
        if not changed:
            return Outcome.UNCHANGED
        self._updates.append((patient, changed))
        return Outcome.UPDATED

    def _check_appointment(self, item: Record) -> _Visit:
        """What the record's appointment becomes; raises `RecordError` or `BookingError` before anything of the
        record is applied."""
        record = item.appointment
        assert record is not None
        if item.patient is None and record.patient_external_id not in self.known.patients:
            raise RecordError("patient", "no patient with this id in the file or in the office")
        appointment = self.known.appointments.get(record.external_id)
        placed = placing.place(self.known, item.where, record, appointment, self.default_clinic)
        visit = _Visit(record, appointment, placed.clinic, placed.provider, _utc(record.starts_at, placed.clinic))
        past = placing.past_start(item.where, record, appointment, visit.starts_at)
        visit.notices = [*placed.notices, *([past] if past else [])]
        if appointment is not None:
            visit.status = _new_status(appointment, record.status, moved=appointment.starts_at != visit.starts_at)
            if visit.status is not None:
                booking.check_status(appointment, visit.status)
        return visit

    def _upsert_appointment(self, visit: _Visit) -> Outcome:
        record, appointment = visit.record, visit.appointment
        patient = self.known.patients[record.patient_external_id]
        if appointment is None:
            zone = planning.numbers_zone([p.number for p in patient.phones if _usable(p)], visit.clinic)
            new = booking.NewAppointment(
                office_id=self.office.id,
                external_id=record.external_id,
                clinic=visit.clinic,
                provider_id=visit.provider.id if visit.provider else None,
                patient=patient,
                patient_zone=zone,
                starts_at=visit.starts_at,
                duration_minutes=record.duration_minutes or 30,
                kind=record.kind or AppointmentKind.IN_PERSON,
                status=_STATUSES[record.status],
                status_changed_by=self.actor,
            )
            self.bookings.create(new, self.actor)
            self._created.add(record.external_id)
            return Outcome.CREATED
        if isinstance(patient, NewPatient):  # rare: a stored appointment moved to a patient new in this batch
            patient = self.known.patients[record.patient_external_id] = self.new_patients.insert_now(patient)
        changes = _changes(visit, patient.id)
        if not changes and visit.status is None:
            return Outcome.UNCHANGED
        assert isinstance(appointment, Appointment), "loaded by `Known.load_for_change`: a record changes it"
        self.bookings.update(appointment, changes, self.actor)
        if visit.status is not None:
            self.bookings.set_status(appointment, visit.status, self.actor)
        if visit.status == AppointmentStatus.CANCELLED:
            return Outcome.CANCELLED
        return Outcome.UPDATED


def _changed_values(patient: Patient | StoredPatient | NewPatient, record: PatientRecord) -> dict[str, Any]:
    """The values the record gives that differ from the patient's, by attribute name."""
    given = {
        "first_name": record.first_name,
        "last_name": record.last_name,
        "date_of_birth": record.date_of_birth,
        "language": record.language,
    }
    return {k: v for k, v in given.items() if v is not None and getattr(patient, k) != v}


def _changes(visit: _Visit, patient_id: int | None) -> dict[str, Any]:
    """What the record changes of its stored appointment (`patient_id`: its patient's, once known)."""
    record, appointment = visit.record, visit.appointment
    assert appointment is not None
    given = {
        "clinic_id": visit.clinic.id,
        "patient_id": patient_id,
        "starts_at": visit.starts_at,
        "provider_id": visit.provider.id if visit.provider else None,
        "duration_minutes": record.duration_minutes,
        "kind": record.kind,
    }
    return {k: v for k, v in given.items() if v is not None and getattr(appointment, k) != v}


@dataclass
class _Visit:
    """A record's appointment, checked: the existing appointment (None: new) and what it is to become."""

    record: AppointmentRecord
    appointment: Appointment | StoredAppointment | None
    clinic: Clinic
    provider: Provider | None
    starts_at: datetime  # UTC
    status: AppointmentStatus | None = None  # to set; None keeps it
    notices: list[Notice] = field(default_factory=list)  # warnings for the import's report


@dataclass(frozen=True)
class _Phone:
    number: str
    kind: PhoneKind | None


def _usable(phone: PatientPhone | StoredPhone | NewPhone) -> bool:
    return isinstance(phone, NewPhone) or phone.invalid_at is None


def _phones(patient: Patient | StoredPatient | NewPatient, record: PatientRecord) -> list[_Phone]:
    """The record's phones for `set_phones`; a kind already known (a landline learned from Twilio) is kept."""
    known = {phone.number for phone in patient.phones if phone.kind != PhoneKind.UNKNOWN}
    return [_Phone(phone.number, None if phone.number in known else phone.kind) for phone in record.phones]


def _same_phones(patient: Patient | StoredPatient | NewPatient, phones: list[_Phone]) -> bool:
    """Whether `set_phones` would change nothing (checked first: it guesses each number's kind, which is slow)."""
    stored: Sequence[PatientPhone | StoredPhone | NewPhone] = patient.phones
    return len(stored) == len(phones) and all(
        row.number == phone.number and row.position == position and phone.kind in (None, row.kind)
        for position, (row, phone) in enumerate(zip(stored, phones, strict=True))
    )


def _new_status(
    appointment: Appointment | StoredAppointment, status: ImportStatus, moved: bool
) -> AppointmentStatus | None:
    """The status to set, or None to keep it (see the module's rules)."""
    wanted = _STATUSES[status]
    if status is ImportStatus.SCHEDULED:
        rebook = appointment.status in (AppointmentStatus.CANCELLED, AppointmentStatus.RESCHEDULE_REQUESTED) and (
            moved or appointment.status_changed_by.startswith("import:")
        )
        return wanted if rebook else None
    return wanted if appointment.status != wanted else None


def _utc(starts_at: datetime, clinic: Clinic) -> datetime:
    if starts_at.tzinfo is None:
        starts_at = starts_at.replace(tzinfo=ZoneInfo(clinic.timezone))
    return starts_at.astimezone(UTC)
