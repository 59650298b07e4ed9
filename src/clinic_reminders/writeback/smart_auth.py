"""SMART Backend Services (the client-credentials grant of SMART App Launch 2.x): an access token for a FHIR
destination, asked for with a JWT signed by the office's private key, and kept until shortly before it expires.

The assertion says iss = sub = the client id, aud = the token URL, a jti of its own and an exp five minutes
ahead (the most the specification allows); its header names the key (`kid`) and the algorithm (RS384 or ES384).
Tokens are kept in this process only, per destination and per the settings and key they were asked for with: a
change of either asks again, and a FHIR server's 401 drops the token (`forget`).
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from .transports import DeliveryFailed, DestinationConfig

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 300  # seconds
DEFAULT_SCOPE = "system/Appointment.read system/Appointment.write system/AppointmentResponse.write system/Patient.read"
DEFAULT_LIFETIME = 300  # seconds, when the answer gives no expires_in
EARLY = 60  # seconds before its expiry that a token is asked for again (at most half its lifetime)
_OAUTH_ERROR = re.compile(r"^[a-z_]{1,40}$")  # RFC 6749's error codes; anything else is not repeated


@dataclass(frozen=True)
class _Kept:
    token: str
    renew_at: float  # time.monotonic()


_tokens: dict[tuple[int, str], _Kept] = {}
_lock = threading.Lock()


def _key(destination: DestinationConfig) -> tuple[int, str]:
    settings = destination.settings
    parts = [str(settings.get(name, "")) for name in ("token_url", "client_id", "key_id", "alg", "scope")]
    digest = hashlib.sha256("\0".join([*parts, destination.secret or ""]).encode()).hexdigest()
    return destination.id, digest


def access_token(destination: DestinationConfig, client: httpx.Client, timeout: float) -> str:
    """A token the destination's FHIR server takes: the one kept, or a new one from its token URL."""
    key = _key(destination)
    with _lock:
        kept = _tokens.get(key)
    if kept is not None and time.monotonic() < kept.renew_at:
        return kept.token
    token, lifetime = _ask(destination, client, timeout)
    with _lock:
        for other in [k for k in _tokens if k[0] == destination.id]:  # the settings changed: the old one goes
            del _tokens[other]
        _tokens[key] = _Kept(token, time.monotonic() + lifetime - min(EARLY, lifetime / 2))
    return token


def forget(destination: DestinationConfig) -> None:
    with _lock:
        _tokens.pop(_key(destination), None)


def client_assertion(destination: DestinationConfig, now: float | None = None) -> str:
    """The signed JWT that authenticates the client to the token URL."""
    settings = destination.settings
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": settings["client_id"],
        "sub": settings["client_id"],
        "aud": settings["token_url"],
        "jti": uuid.uuid4().hex,
        "iat": issued,
        "exp": issued + ASSERTION_LIFETIME,
    }
    try:
        return jwt.encode(
            claims,
            destination.secret or "",
            algorithm=settings.get("alg") or "RS384",
            headers={"kid": settings["key_id"], "typ": "JWT"},
        )
    except (ValueError, TypeError, jwt.PyJWTError):  # no key, a key for another algorithm, an unreadable PEM
        raise DeliveryFailed("the private key cannot sign the SMART client assertion", permanent=True) from None


def _ask(destination: DestinationConfig, client: httpx.Client, timeout: float) -> tuple[str, float]:
    settings = destination.settings
    if not all(settings.get(name) for name in ("token_url", "client_id", "key_id")):
        raise DeliveryFailed("SMART backend services needs token_url, client_id and key_id", permanent=True)
    form = {
        "grant_type": "client_credentials",
        "scope": settings.get("scope") or DEFAULT_SCOPE,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": client_assertion(destination),
    }
    try:
        response = client.post(
            settings["token_url"], data=form, headers={"Accept": "application/json"}, timeout=timeout
        )
    except httpx.TimeoutException:
        raise DeliveryFailed(f"the SMART token endpoint did not answer within {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"the SMART token endpoint could not be reached ({type(exc).__name__})") from None
    body = _json(response)
    if response.status_code != 200:
        error = body.get("error")
        said = f" {error}" if isinstance(error, str) and _OAUTH_ERROR.fullmatch(error) else ""
        # 400 and 401 are the token endpoint's refusals of the client (invalid_client, invalid_scope...)
        permanent = response.status_code in (400, 401, 403)
        raise DeliveryFailed(f"SMART token endpoint: HTTP {response.status_code}{said}", permanent=permanent)
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise DeliveryFailed("SMART token endpoint: HTTP 200 without an access_token")
    lifetime = body.get("expires_in")
    seconds = float(lifetime) if isinstance(lifetime, int | float) and lifetime > 0 else DEFAULT_LIFETIME
    return token, seconds


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
