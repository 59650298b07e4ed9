"""Every error the app answers, in one shape (`Error`), and its place in /openapi.json.

`{"detail": "clinic_id: no clinic 99", "errors": [{"field": "clinic_id", "message": "no clinic 99"}]}`: `detail`
is for a person, `errors` names each field at fault (422) and is empty otherwise. Raising
`RequestValidationError` (`invalid`) reuses the 422 handler, so a foreign key that points nowhere reads exactly
like a malformed field. A service's `Refused` is answered here too, in the same shape (`_refused`), so routers
call the services without catching. Messages carry ids and field names only, never what the user typed (it may be
patient data).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ...refusals import Refusal, Refused


class FieldError(BaseModel):
    field: str = Field(description="The field's dotted name (`phones.0.number`), or `body` for the whole body.")
    message: str


class Error(BaseModel):
    """The body of every 4xx and 5xx answer of the API."""

    detail: str = Field(description="What went wrong, for a person to read.")
    errors: list[FieldError] = Field(description="The fields at fault, one entry each (422); empty otherwise.")


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


# Route-specific answers, documented where they apply; `document` adds the ones every route shares.
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such row in your office."}}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "The change conflicts with the row's state; `detail` says why."}
}
ADMIN_ONLY: dict[int | str, dict[str, Any]] = {403: {"description": "This needs the admin role."}}
TWILIO_FAILED: dict[int | str, dict[str, Any]] = {
    502: {"description": "Twilio refused the request or could not be reached; `detail` says why."}
}


def _field_error(error: dict[str, Any]) -> FieldError:
    """A validation error a person can act on: the field's dotted name and the message, never the input."""
    raw_loc = error.get("loc", ())
    loc = [str(p) for p in raw_loc if p not in ("body", "query", "path")] if isinstance(raw_loc, tuple) else []
    return FieldError(field=".".join(loc) or "body", message=str(error.get("msg", "invalid")))


def _answer(
    status_code: int, detail: str, errors: list[FieldError], headers: Mapping[str, str] | None = None
) -> Response:
    body = Error(detail=detail, errors=errors).model_dump(mode="json")
    return JSONResponse(body, status_code=status_code, headers=headers)


async def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [_field_error(dict(e)) for e in exc.errors()]
    return _answer(422, "; ".join(f"{e.field}: {e.message}" for e in errors), errors)


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code in (204, 304):  # answers without a body
        return Response(status_code=exc.status_code, headers=exc.headers)
    return _answer(exc.status_code, str(exc.detail), [], exc.headers)


_REFUSAL_STATUS = {Refusal.CONFLICT: 409, Refusal.NOT_FOUND: 404, Refusal.UPSTREAM: 502}


async def _refused(_request: Request, exc: Exception) -> Response:
    """A refusal as `invalid`, `conflict` and `not_found` answer it: 422 naming the field, or `detail` alone."""
    assert isinstance(exc, Refused)
    if exc.kind is Refusal.INVALID:
        error = FieldError(field=exc.field or "body", message=exc.message)
        return _answer(422, f"{error.field}: {error.message}", [error])
    return _answer(_REFUSAL_STATUS[exc.kind], exc.detail, [])


async def _server_error(request: Request, _exc: Exception) -> Response:
    """The answer to an unhandled error; the server still logs it (with SQL parameters hidden, see db.py)."""
    if request.url.path.startswith("/api/"):
        return _answer(500, "internal error: the server's log says what failed", [])
    return PlainTextResponse("Internal Server Error", status_code=500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Refused, _refused)
    app.add_exception_handler(Exception, _server_error)


_SIGNED_IN = "Not signed in: send `Authorization: Bearer <token>` (see `reminders token EMAIL`)."
_MALFORMED = "A field is missing or malformed; `errors` names each one."
_UNREADABLE = "The body could not be read (it is not UTF-8 text)."
_UNEXPECTED = "An unexpected error; the server's log says what failed."
_ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def _with_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Every API operation needs a sign-in (tests/web/test_api_auth.py), so answers 401, and may fail (500); one
    with a path parameter names a row (404); one that takes input can find it malformed (422), and a body
    unreadable (400). Other answers (403, 409, 502) are declared on the route. Every error answer has the `Error`
    body."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    error_schema = Error.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(error_schema.pop("$defs", {}))
    components["Error"] = error_schema
    for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's own 422 body, which this app never sends
        components.pop(name, None)
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for operation in operations.values():
            responses: dict[str, Any] = operation["responses"]
            parameters = operation.get("parameters", [])
            if "requestBody" in operation:
                responses.setdefault("400", {"description": _UNREADABLE})
            responses.setdefault("401", {"description": _SIGNED_IN})
            if any(p["in"] == "path" for p in parameters):
                responses.setdefault("404", {"description": NOT_FOUND[404]["description"]})
            if parameters or "requestBody" in operation:
                responses.setdefault("422", {"description": _MALFORMED})
            responses.setdefault("500", {"description": _UNEXPECTED})
            for code, response in responses.items():
                if int(code) >= 400:
                    response["content"] = _ERROR_CONTENT
    return schema


def document(app: FastAPI) -> None:
    """/openapi.json lists on every API operation each error it can answer, all with the `Error` body."""
    generate = app.openapi
    app.openapi = lambda: _with_errors(generate())  # type: ignore[method-assign]  # idempotent on FastAPI's cache
