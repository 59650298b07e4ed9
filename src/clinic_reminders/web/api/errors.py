"""Errors that name the field at fault, in the same shape as the app's 422 handler.

Raising `RequestValidationError` reuses that handler, so a foreign key that points nowhere reads exactly like a
malformed field: `{"detail": "clinic_id: no clinic 99", "errors": [{"field": "clinic_id", ...}]}`.
Messages carry ids and field names only, never what the user typed (it may be patient data).
"""

from __future__ import annotations

from typing import Any, NoReturn

from fastapi import HTTPException, status
from fastapi.exceptions import RequestValidationError


def invalid(field: str, message: str) -> NoReturn:
    """422 naming `field` (dotted, e.g. `phones.0.number`)."""
    loc: tuple[str | int, ...] = ("body", *(int(p) if p.isdigit() else p for p in field.split(".")))
    raise RequestValidationError([{"loc": loc, "msg": message, "type": "value_error"}])


def invalid_query(field: str, message: str) -> NoReturn:
    raise RequestValidationError([{"loc": ("query", field), "msg": message, "type": "value_error"}])


def not_found(entity: str, entity_id: int) -> NoReturn:
    raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no {entity} {entity_id}")


def conflict(field: str, message: str) -> NoReturn:
    raise HTTPException(status.HTTP_409_CONFLICT, detail=f"{field}: {message}")


# Documented on every route that can answer them, so /openapi.json shows what a client must handle.
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such row in your office."}}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "The change conflicts with the row's state; `detail` says why."}
}
