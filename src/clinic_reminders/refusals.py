"""`Refused`: what a service raises when it will not make a change, and the checks of input it raises it for.

The services (booking, patient_records, clinic_records, reminder_rules, office_config, conversations.staff_sms)
are called by the JSON API and the staff pages alike, and each side maps a refusal in one place: the API answers
it in its `Error` shape (web/api/errors.py), the pages show it next to the field at fault (web/admin/forms.py).
Nothing of a refused change is kept: the caller rolls its transaction back. Messages name fields and ids, never
what was typed (it may be patient data).
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy.orm import Session

from .models.base import OfficeOwned

M = TypeVar("M", bound=OfficeOwned)


class Refusal(StrEnum):
    """Why, as the API answers it."""

    INVALID = "invalid"  # the input is wrong (422 naming the field)
    CONFLICT = "conflict"  # it clashes with a row's state or with another row (409)
    NOT_FOUND = "not-found"  # the row it is about is not in the office (404)
    UPSTREAM = "upstream"  # Twilio refused it or could not be reached (502); what was tried is recorded


class Refused(ValueError):
    """The change is not made. `field` is the input at fault (dotted: `phones.0.retry`), "" for the whole."""

    def __init__(self, field: str, message: str, kind: Refusal = Refusal.INVALID) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.kind = kind

    @property
    def detail(self) -> str:
        """For a person: the field and the message."""
        return f"{self.field}: {self.message}" if self.field else self.message


def referenced(db: Session, model: type[M], row_id: int, office_id: int, field: str, entity: str) -> M:
    """The row a foreign key of the input names; missing or another office's is refused naming the field, so that
    ids reveal nothing across offices."""
    row = db.get(model, row_id)
    if row is None or row.office_id != office_id:
        raise Refused(field, f"no {entity} {row_id}")
    return row


def sent_values(
    body: BaseModel, nullable: Collection[str] = frozenset(), exclude: Collection[str] = frozenset()
) -> dict[str, Any]:
    """The fields a change sets (PATCH: the ones sent, but those in `exclude`); an explicit null is refused where
    the column cannot be empty."""
    values = body.model_dump(exclude_unset=True, exclude=set(exclude))
    for field, value in values.items():
        if value is None and field not in nullable:
            raise Refused(field, "may not be null; leave the field out to keep it")
    return values


def apply(row: object, values: dict[str, Any]) -> list[str]:
    """Sets the values that differ; returns the changed field names (for the audit trail)."""
    changed = sorted(k for k, v in values.items() if getattr(row, k) != v)
    for key in changed:
        setattr(row, key, values[key])
    return changed
