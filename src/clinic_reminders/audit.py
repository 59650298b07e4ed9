"""Recording who did what. Details carry ids and field names only: never patient data."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from .models import AuditEntry


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
