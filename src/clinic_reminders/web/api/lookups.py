"""The row a path names, in the caller's office.

A row of another office is treated exactly like a missing one (404 here; 422 for a foreign key in the body,
`refusals.referenced`), so ids reveal nothing across offices.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.orm import Session

from ...models import Office
from ...models.base import OfficeOwned
from .errors import not_found

M = TypeVar("M", bound=OfficeOwned)


def get_or_404(db: Session, model: type[M], row_id: int, office: Office, entity: str) -> M:
    row = db.get(model, row_id)
    if row is None or row.office_id != office.id:
        not_found(entity, row_id)
    return row
