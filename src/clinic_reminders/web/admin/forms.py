"""Turning posted forms into the API's pydantic schemas, and any refusal into messages per field.

The pages reuse the JSON API's schemas and handlers, so a form and an API call are validated identically; only
the shape of the errors differs (a message next to each field instead of a 422 body).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
FieldErrors = dict[str, str]


def _message(error: Mapping[str, Any]) -> str:
    text = str(error.get("msg", "invalid"))
    return text.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _field(loc: Any) -> str:
    parts = [str(p) for p in (loc or ()) if p not in ("body", "query", "path")]
    return ".".join(parts) or "form"


def errors_of(exc: ValidationError | RequestValidationError) -> FieldErrors:
    found: FieldErrors = {}
    for error in exc.errors():
        found.setdefault(_field(error.get("loc")), _message(error))
    return found


async def form_fields(request: Request) -> dict[str, str]:
    """The posted fields as strings (the last value of a repeated name); the CSRF token left out."""
    form = await request.form()
    return {key: value for key, value in form.multi_items() if isinstance(value, str) and key != "csrf_token"}


def parse(model: type[M], data: Mapping[str, Any]) -> tuple[M | None, FieldErrors]:
    try:
        return model.model_validate(dict(data)), {}
    except ValidationError as exc:
        return None, errors_of(exc)


def call(handler: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T | None, FieldErrors]:
    """Runs an API handler; its refusals (422 by field, 404, 409) come back as field errors."""
    try:
        return handler(*args, **kwargs), {}
    except RequestValidationError as exc:
        return None, errors_of(exc)
    except HTTPException as exc:
        if exc.status_code >= 500:
            raise
        field, _, message = str(exc.detail).partition(": ")
        return None, {field: message} if message else {"form": str(exc.detail)}


def blank_to_none(data: dict[str, str], *names: str) -> dict[str, Any]:
    """Empty text boxes mean "none" for optional fields."""
    return {key: (None if key in names and not value.strip() else value) for key, value in data.items()}


def checkbox(data: Mapping[str, str], name: str) -> bool:
    return data.get(name) in ("on", "true", "1", "yes")
