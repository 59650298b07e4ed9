"""The patients an import batch creates: plain data while the batch's records are applied (a later line of the
same patient may still change them; an ORM object would cost more than the rest of the line), then inserted
together: the patients in one statement, their phones in another, and their consent events and audit entries
written by the database from the new rows.

A new patient consents to texts and calls, recorded as a consent event per channel from the import, as
`patient_changes` records it for a patient added through the API.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol, cast

from sqlalchemy import Table, insert, literal, select
from sqlalchemy.orm import Session, selectinload

from .. import audit
from ..models import Channel, ConsentAction, ConsentEvent, Patient, PatientPhone, PhoneKind
from ..phones import guess_kind

# Core tables: an INSERT of many rows through the ORM costs a third more
_PATIENTS = cast(Table, Patient.__table__)
_PHONES = cast(Table, PatientPhone.__table__)
_CONSENTS = cast(Table, ConsentEvent.__table__)
_IDS_PER_STATEMENT = 900  # ids in one IN (...): within every database's limit on bound parameters


class PhoneEntry(Protocol):
    @property
    def number(self) -> str: ...

    @property
    def kind(self) -> PhoneKind | None: ...


@dataclass
class NewPhone:
    number: str  # E.164
    kind: str
    position: int


@dataclass
class NewPatient:
    """A patient to create: the attributes of `Patient` an import sets, under the same names."""

    office_id: int
    external_id: str
    first_name: str
    last_name: str
    date_of_birth: date | None = None
    language: str | None = None  # None: the column's default
    phones: list[NewPhone] = field(default_factory=list)
    id: int | None = None  # once inserted

    def set_phones(self, phones: Sequence[PhoneEntry]) -> bool:
        """As `patient_changes.set_phones`: the list replaced in order, a number kept keeps its kind unless the
        entry gives one, a new number without a kind gets the one its numbering plan says. True if it changed."""
        before = list(self.phones)
        kinds = {phone.number: phone.kind for phone in self.phones}
        self.phones = [
            NewPhone(p.number, str(p.kind or kinds.get(p.number) or guess_kind(p.number)), position)
            for position, p in enumerate(phones)
        ]
        return self.phones != before


class NewPatients:
    """The batch's new patients; `now`, the batch's instant, is the time of all their rows."""

    def __init__(self, db: Session, actor: str, now: datetime) -> None:
        self.db = db
        self.actor = actor
        self.now = now
        self._waiting: list[NewPatient] = []
        self._inserted: list[NewPatient] = []

    def add(self, patient: NewPatient) -> None:
        self._waiting.append(patient)

    def insert_now(self, patient: NewPatient) -> Patient:
        """Insert this one ahead of the others, for a row that needs its id before the end of the batch; returns
        it loaded, for the batch's later records to change as any stored patient."""
        self._waiting.remove(patient)
        self._insert([patient])
        loaded = self.db.scalars(
            select(Patient).where(Patient.id == patient.id).options(selectinload(Patient.phones))
        ).one()
        return loaded

    def insert(self) -> None:
        """Insert the patients given to `add`, then the consent events and audit entries of all of them, which
        the database writes from the new rows (see `audit.record_created`)."""
        self._insert(self._waiting)
        self._waiting = []
        ids = [patient.id for patient in self._inserted if patient.id is not None]
        for start in range(0, len(ids), _IDS_PER_STATEMENT):
            self._consent(ids[start : start + _IDS_PER_STATEMENT])
        audit.record_created(self.db, _PATIENTS, ids, self.actor, "patient", at=self.now)
        self._inserted = []

    def _consent(self, ids: list[int]) -> None:
        """The patients' consent to texts and calls, an event per channel, from the import."""
        for channel in Channel:
            consents = select(
                _PATIENTS.c.office_id,
                _PATIENTS.c.id,
                literal(channel, _CONSENTS.c.channel.type),
                literal(ConsentAction.CONSENT, _CONSENTS.c.action.type),
                literal(self.actor, _CONSENTS.c.source.type),
                literal(self.now, _CONSENTS.c.at.type),
            ).where(_PATIENTS.c.id.in_(ids))
            columns = ["office_id", "patient_id", "channel", "action", "source", "at"]
            self.db.execute(insert(_CONSENTS).from_select(columns, consents.order_by(_PATIENTS.c.id)))

    def _insert(self, patients: list[NewPatient]) -> None:
        """The patients and their phones; each patient gets its id, matched by external id (RETURNING does not keep
        the order of the rows on every database)."""
        by_external_id: dict[str | None, NewPatient] = {patient.external_id: patient for patient in patients}
        for rows in _by_keys(_row(patient) for patient in patients):
            statement = insert(_PATIENTS).values(created_at=self.now, updated_at=self.now)
            statement = statement.returning(_PATIENTS.c.external_id, _PATIENTS.c.id)
            for external_id, new_id in self.db.execute(statement, rows):
                by_external_id[external_id].id = new_id
        phones = [
            {"office_id": p.office_id, "patient_id": p.id, "number": x.number, "kind": x.kind, "position": x.position}
            for p in patients
            for x in p.phones
        ]
        if phones:
            self.db.execute(insert(_PHONES), phones)
        self._inserted += patients


def _row(patient: NewPatient) -> dict[str, Any]:
    """The patient's values; those it leaves unset take the column's default."""
    values = {
        "office_id": patient.office_id,
        "external_id": patient.external_id,
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "date_of_birth": patient.date_of_birth,
        "language": patient.language,
    }
    return {key: value for key, value in values.items() if value is not None}


def _by_keys(rows: Iterable[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    """Rows grouped by the columns they give: one INSERT names the same columns for each of its rows."""
    groups: dict[frozenset[str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[frozenset(row)].append(row)
    return groups.values()
