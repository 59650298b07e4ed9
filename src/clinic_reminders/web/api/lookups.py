"""Office-scoped lookups and PATCH helpers shared by the routers.

A row of another office is treated exactly like a missing one (404 in the path, 422 in the body), so ids
reveal nothing across offices.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy.orm import Session

from ...models import Office
from ...models.base import OfficeOwned
from .errors import invalid, not_found

M = TypeVar("M", bound=OfficeOwned)


def _owned(db: Session, model: type[M], row_id: int, office: Office) -> M | None:
    row = db.get(model, row_id)
    return row if row is not None and row.office_id == office.id else None


def get_or_404(db: Session, model: type[M], row_id: int, office: Office, entity: str) -> M:
    """A row named in the path."""
    row = _owned(db, model, row_id, office)
    if row is None:
        not_found(entity, row_id)
    return row


def get_ref(db: Session, model: type[M], row_id: int, office: Office, field: str, entity: str) -> M:
    """A row named by a foreign key in the body: missing or foreign gives 422 naming the field."""
    row = _owned(db, model, row_id, office)
    if row is None:
        invalid(field, f"no {entity} {row_id}")
    return row


def patch_values(body: BaseModel, nullable: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The fields the client sent; an explicit null is refused where the column cannot be empty."""
    values = body.model_dump(exclude_unset=True)
    for field, value in values.items():
        if value is None and field not in nullable:
            invalid(field, "may not be null; leave the field out to keep it")
    return values


def apply(row: object, values: dict[str, Any]) -> list[str]:
    """Sets the values that differ; returns the changed field names (for the audit log)."""
    changed = sorted(k for k, v in values.items() if getattr(row, k) != v)
    for key in changed:
        setattr(row, key, values[key])
    return changed
