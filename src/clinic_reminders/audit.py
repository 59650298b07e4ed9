"""Recording who did what. Details carry ids and field names only: never patient data."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import BindParameter, Table, insert, literal, select
from sqlalchemy.orm import Session

from .models import AuditEntry

_ENTRIES = cast(Table, AuditEntry.__table__)  # for one INSERT of many rows, Core costs less than the ORM
_INSERT = insert(_ENTRIES)  # built once: every appointment change writes one
_IDS_PER_STATEMENT = 900  # ids in one IN (...): within every database's limit on bound parameters


def record(
    db: Session,
    office_id: int,
    actor: str,
    action: str,
    entity: str,
    entity_id: int | None = None,
    **detail: Any,
) -> None:
    """Written now, in the caller's transaction: a plain INSERT costs a fraction of an ORM object's flush."""
    db.execute(_INSERT, entry(office_id, actor, action, entity, entity_id, **detail))


def entry(
    office_id: int, actor: str, action: str, entity: str, entity_id: int | None = None, **detail: Any
) -> dict[str, Any]:
    """One entry as a row for `record_all`: the same as `record` adds."""
    return {
        "office_id": office_id,
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "detail": detail,
    }


def record_all(db: Session, entries: list[dict[str, Any]], *, at: datetime) -> None:
    """Many entries (`entry`) made at one instant (an import batch's), in one statement: an import writes
    thousands."""
    if entries:
        db.execute(insert(_ENTRIES).values(at=at), entries)


def record_created(db: Session, table: Table, ids: Sequence[int], actor: str, entity: str, *, at: datetime) -> None:
    """The `create` entry (as `entry` makes it) of each row of `table`, an office-owned table, with these ids,
    made at `at`. The database writes them from the rows themselves, in id order: an import creates thousands,
    and an entry sent row by row costs more than the row it is about."""
    columns = ["office_id", "actor", "action", "entity", "entity_id", "detail", "at"]
    for start in range(0, len(ids), _IDS_PER_STATEMENT):
        rows = select(
            table.c.office_id,
            _value("actor", actor),
            _value("action", "create"),
            _value("entity", entity),
            table.c.id,
            _value("detail", {}),
            _value("at", at),
        ).where(table.c.id.in_(ids[start : start + _IDS_PER_STATEMENT]))
        db.execute(insert(_ENTRIES).from_select(columns, rows.order_by(table.c.id)))


def _value(column: str, value: Any) -> BindParameter[Any]:
    """`value` as a constant of the statement, typed as the column (a JSON detail, a UTC time)."""
    return literal(value, _ENTRIES.c[column].type)
