"""Errors on the staff pages as a person reads them: an HTML page with the navigation, and what to do next.

Only the staff pages get HTML. The JSON API, Twilio's webhooks, the simulator, the patients' pages and every
request from a script or htmx keep the JSON (or plain) answer of the handler they would have had.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from .auth import session_user, wants_fragment
from .rendering import render

log = logging.getLogger(__name__)

Handler = Callable[[Request, Any], Response | Awaitable[Response]]  # as Starlette keeps them: sync or async


async def _answer(handler: Handler, request: Request, exc: Exception) -> Response:
    result = handler(request, exc)
    return await result if inspect.isawaitable(result) else result


# Paths that machines read: their errors stay as their own handlers answer them.
NOT_PAGES = (
    "/api/",
    "/openapi.json",
    "/app_confirm",
    "/twilio/",
    "/simulator",
    "/healthz",
    "/metrics",
    "/p/",
    "/portal/",
    "/static/",
)
TEXTS = {
    400: ("Bad request", "The request could not be read. Go back and try again."),
    401: ("Sign in first", "This page needs you to sign in."),
    403: ("Not allowed", "You may not open this page."),
    404: ("Page not found", "There is no page at this address. It may have moved, or the link is mistyped."),
    405: ("Not here", "This address does not take that kind of request. Go back and use the page's buttons."),
    422: ("Not understood", "Something in the address or the form was not understood: {detail}."),
    500: (
        "Something went wrong",
        "The server could not show this page. Nothing you did caused it; try again, and if it keeps happening "
        "tell whoever runs the server (its log says what failed).",
    ),
}


def is_page(request: Request) -> bool:
    """A staff page asked for by a browser (not a script, not htmx)."""
    path = request.url.path
    return not path.startswith(NOT_PAGES) and not wants_fragment(request)


def error_page(request: Request, status_code: int, detail: str = "") -> Response:
    title, message = TEXTS.get(status_code, TEXTS[500 if status_code >= 500 else 400])
    context = {"title": title, "message": message.format(detail=detail or "see the page's fields"), "code": status_code}
    try:
        return render(request, "error.html", context, user=session_user(request), status_code=status_code)
    except Exception:  # never an error inside the error page
        log.warning("the error page could not be drawn", exc_info=True)
        return PlainTextResponse(f"{title}. {message}", status_code=status_code)


def _validation_detail(exc: RequestValidationError) -> str:
    """Which fields, never what was typed."""
    names = [".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path")) for e in exc.errors()]
    return ", ".join(sorted({n for n in names if n})) or "the form"


def pages_or(json_handler: Handler) -> Handler:
    """A handler for HTTP errors: a page for a staff page, `json_handler`'s answer for everything else."""

    async def handle(request: Request, exc: Exception) -> Response:
        if not is_page(request):
            return await _answer(json_handler, request, exc)
        if isinstance(exc, RequestValidationError):
            return error_page(request, 422, _validation_detail(exc))
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code < 400:
            return await _answer(json_handler, request, exc)
        return error_page(request, exc.status_code, str(exc.detail))

    return handle


def server_error_or(json_handler: Handler) -> Handler:
    """A handler for unhandled errors: a page for a staff page; the server still logs the error itself."""

    async def handle(request: Request, exc: Exception) -> Response:
        return error_page(request, 500) if is_page(request) else await _answer(json_handler, request, exc)

    return handle


def install(app: FastAPI) -> None:
    """Puts the page handlers in front of the app's own (installed before, e.g. the API's error body), which
    keep answering everything but the staff pages."""
    own = app.exception_handlers  # FastAPI's JSON defaults unless another was installed
    app.add_exception_handler(StarletteHTTPException, pages_or(own[StarletteHTTPException]))
    app.add_exception_handler(RequestValidationError, pages_or(own[RequestValidationError]))
    app.add_exception_handler(Exception, server_error_or(own.get(Exception, _plain_server_error)))


async def _plain_server_error(_request: Request, _exc: Exception) -> Response:
    return PlainTextResponse("Internal Server Error", status_code=500)
