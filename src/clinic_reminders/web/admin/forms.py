"""Turning posted forms into the API's pydantic schemas, and any refusal into messages per field.

The pages use the JSON API's schemas and call the same services, so a form and an API call are validated and
saved identically; only the shape of the errors differs (a message next to each field instead of a 422 body).
A service's `Refused` becomes that message here (`refused`), and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from ...refusals import Refused

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
FieldErrors = dict[str, str]


# Pydantic's messages ("Input should be a valid decimal") in words for a person at a form, by error type; the
# placeholders come from the error's context. Types not listed keep their message (our validators' are plain).
PLAIN_WORDS = {
    "missing": "fill this in",
    "string_too_short": "fill this in",
    "string_too_long": "use at most {max_length} characters",
    "int_parsing": "give a whole number, e.g. 3",
    "int_type": "give a whole number, e.g. 3",
    "int_from_float": "give a whole number, without a decimal point",
    "float_parsing": "give a number, e.g. 2.5",
    "decimal_parsing": "give a number, e.g. 0.0079",
    "decimal_type": "give a number, e.g. 0.0079",
    "decimal_max_places": "use at most {decimal_places} digits after the decimal point",
    "decimal_max_digits": "use at most {max_digits} digits",
    "greater_than_equal": "give {ge} or more",
    "greater_than": "give more than {gt}",
    "less_than_equal": "give {le} or less",
    "less_than": "give less than {lt}",
    "time_parsing": "give a time of day such as 08:30",
    "time_type": "give a time of day such as 08:30",
    "date_parsing": "give a date such as 2030-06-12",
    "date_from_datetime_parsing": "give a date such as 2030-06-12",
    "datetime_parsing": "give a date and time such as 2030-06-12 09:30",
    "bool_parsing": "tick it or leave it empty",
    "literal_error": "choose one of {expected}",
    "enum": "choose one of {expected}",
    "string_pattern_mismatch": "is not in the expected form",
    "extra_forbidden": "is not a field of this form",
}


def _message(error: Mapping[str, Any], hints: Mapping[str, str]) -> str:
    kind, field = str(error.get("type", "")), _field(error.get("loc"))
    if kind == "string_pattern_mismatch" and field in hints:
        return hints[field]
    words = PLAIN_WORDS.get(kind)
    if kind == "string_too_short" and (error.get("ctx") or {}).get("min_length", 1) > 1:
        words = "use at least {min_length} characters"
    if words is not None:
        try:
            return words.format(**(error.get("ctx") or {}))
        except (KeyError, IndexError):
            return words.split(" {")[0]
    text = str(error.get("msg", "invalid"))
    return text.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _field(loc: Any) -> str:
    parts = [str(p) for p in (loc or ()) if p not in ("body", "query", "path")]
    return ".".join(parts) or "form"


def errors_of(exc: ValidationError, hints: Mapping[str, str] | None = None) -> FieldErrors:
    """One message per field, in plain words; `hints` says what a field's expected form is (its pattern)."""
    found: FieldErrors = {}
    for error in exc.errors():
        found.setdefault(_field(error.get("loc")), _message(error, hints or {}))
    return found


async def form_fields(request: Request) -> dict[str, str]:
    """The posted fields as strings (the last value of a repeated name); the CSRF token left out."""
    form = await request.form()
    return {key: value for key, value in form.multi_items() if isinstance(value, str) and key != "csrf_token"}


def parse(
    model: type[M], data: Mapping[str, Any], hints: Mapping[str, str] | None = None
) -> tuple[M | None, FieldErrors]:
    try:
        return model.model_validate(dict(data)), {}
    except ValidationError as exc:
        return None, errors_of(exc, hints)


def refused(exc: Refused) -> FieldErrors:
    """A service's refusal, next to the field it names (the whole form when it names none)."""
    return {exc.field or "form": exc.message}


def call(service: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T | None, FieldErrors]:
    """Runs a service; a refusal comes back as field errors (nothing is saved: the caller rolls back)."""
    try:
        return service(*args, **kwargs), {}
    except Refused as exc:
        return None, refused(exc)


def blank_to_none(data: dict[str, str], *names: str) -> dict[str, Any]:
    """Empty text boxes mean "none" for optional fields."""
    return {key: (None if key in names and not value.strip() else value) for key, value in data.items()}


def checkbox(data: Mapping[str, str], name: str) -> bool:
    return data.get(name) in ("on", "true", "1", "yes")
