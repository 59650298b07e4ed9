"""The patient pages' cookies: a CSRF nonce (double submit, HMAC-bound to the link) and "date of birth checked".

Both are HttpOnly, SameSite=Strict and scoped to `/p/`; neither holds patient data. The verified cookie is signed
(itsdangerous, a key derived for this purpose) and names the one link it unlocks, for `VERIFIED_FOR` at most.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ...crypto import signing_key
from ...settings import Settings

CSRF_COOKIE = "pc"
VERIFIED_COOKIE = "pv"
COOKIE_PATH = "/p/"
VERIFIED_FOR = 30 * 60  # seconds: the date of birth is asked again after half an hour
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"


def _secure(request: Request, settings: Settings) -> bool:
    return request.url.scheme == "https" or settings.http_type == "https"


class PortalGuard:
    """Issues and checks the cookies of one request."""

    def __init__(self, request: Request, settings: Settings) -> None:
        self.request = request
        self.settings = settings
        self._nonce = request.cookies.get(CSRF_COOKIE) or ""
        self._new_nonce = ""

    # --- CSRF ---------------------------------------------------------------------------------------------------
    def csrf_token(self, link_token: str) -> str:
        """The hidden field's value for forms on this link's pages; creates the nonce cookie if needed."""
        if not self._nonce:
            self._nonce = self._new_nonce = secrets.token_urlsafe(18)
        return self._mac(self._nonce, link_token)

    def _mac(self, nonce: str, link_token: str) -> str:
        key = signing_key(self.settings.secret_key_value, "patient-csrf")
        return hmac.new(key, f"{nonce}:{link_token}".encode(), hashlib.sha256).hexdigest()[:32]

    def csrf_ok(self, link_token: str, submitted: str | None) -> bool:
        if not self._nonce or not submitted:
            return False
        return hmac.compare_digest(self._mac(self._nonce, link_token), submitted)

    # --- date of birth checked ----------------------------------------------------------------------------------
    def _serializer(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(signing_key(self.settings.secret_key_value, "patient-verified").hex(), "pv")

    def verified(self, link_id: int) -> bool:
        value = self.request.cookies.get(VERIFIED_COOKIE)
        if not value:
            return False
        try:
            payload = self._serializer().loads(value, max_age=VERIFIED_FOR)
        except BadSignature:
            return False
        return bool(payload == {"link": link_id})

    def mark_verified(self, response: Response, link_id: int) -> None:
        value = self._serializer().dumps({"link": link_id})
        self._set(response, VERIFIED_COOKIE, str(value), VERIFIED_FOR)

    def apply(self, response: Response) -> Response:
        """Set the nonce cookie if this request created one; forbid caching of patient pages."""
        if self._new_nonce:
            self._set(response, CSRF_COOKIE, self._new_nonce, None)
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = content_security_policy(self.settings)
        return response

    def _set(self, response: Response, name: str, value: str, max_age: int | None) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path=COOKIE_PATH,
            httponly=True,
            samesite="strict",
            secure=_secure(self.request, self.settings),
        )


def content_security_policy(settings: Settings) -> str:
    """Scripts and styles from this site only; the Video SDK may reach Twilio (or the simulator standing in)."""
    connect = ["'self'", "https://*.twilio.com", "wss://*.twilio.com"]
    if settings.twilio_api_base_url:
        parts = urlsplit(settings.twilio_api_base_url)
        connect.append(f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}")
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"media-src 'self' blob: mediastream:; connect-src {' '.join(connect)}; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
    )
