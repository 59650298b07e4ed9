"""CSRF protection for the staff pages: one random token per session, required on every unsafe request.

Forms carry it in a hidden `csrf_token` field; htmx and fetch send it in the `X-CSRF-Token` header (app.js adds
it from the page's meta tag). The session cookie is SameSite=Lax as well; the token is what is relied on.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
HEADER = "x-csrf-token"
FIELD = "csrf_token"


class CsrfRejected(Exception):
    """The request came without this session's token (a forged form, or a page left open past a sign-in)."""


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def new_csrf_token(request: Request) -> str:
    """A fresh token (on sign-in), so a token seen before signing in is useless afterwards."""
    request.session["csrf"] = secrets.token_urlsafe(32)
    return str(request.session["csrf"])


async def check_csrf(request: Request) -> None:
    """Router dependency: refuses unsafe requests whose token is missing or wrong."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(HEADER)
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(FIELD)
            sent = value if isinstance(value, str) else None
    expected = request.session.get("csrf")
    if not sent or not isinstance(expected, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRejected
