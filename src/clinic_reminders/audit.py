"""Recording who did what. Details carry ids and field names only: never patient data."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from .models import AuditEntry

_ENTRIES = cast(Table, AuditEntry.__table__)  # for one INSERT of many rows, Core costs less than the ORM


def record(
    db: Session,
    office_id: int,
    actor: str,
    action: str,
    entity: str,
    entity_id: int | None = None,
    **detail: Any,
) -> None:
    db.add(
        AuditEntry(office_id=office_id, actor=actor, action=action, entity=entity, entity_id=entity_id, detail=detail)
    )


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
