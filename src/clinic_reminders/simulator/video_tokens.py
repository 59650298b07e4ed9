"""Checking a Twilio Video access token as Twilio does: an HS256 JWT whose issuer is an API key of the account
named by its subject, signed with that key's secret, unexpired, at most 24 h long, with a video grant.

A token signed with a wrong secret, for an unknown key, expired or without the grant is refused with Twilio's
error code (20101-20107), as the real signalling server would.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from .state import Account, Store

MAX_TTL_S = 24 * 3600
ERRORS = {
    20101: "Invalid Access Token",
    20103: "Invalid Access Token issuer/subject",
    20104: "Access Token expired or expiration date invalid",
    20105: "Access Token not yet valid",
    20106: "Invalid Access Token grants",
    20107: "Invalid Access Token signature",
}


class VideoTokenError(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(ERRORS[code])
        self.code = code
        self.message = ERRORS[code]


@dataclass(frozen=True, slots=True)
class VideoGrantInfo:
    account: Account
    key_sid: str
    identity: str
    room: str | None  # the grant's room; None = any room
    expires_at: int


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _json(part: str) -> dict[str, Any]:
    try:
        value = json.loads(_b64(part))
    except (binascii.Error, ValueError):
        raise VideoTokenError(20101) from None
    if not isinstance(value, dict):
        raise VideoTokenError(20101)
    return value


def check_video_token(store: Store, token: str, now: float | None = None) -> VideoGrantInfo:
    """The token's account, key, identity and room; VideoTokenError with Twilio's code otherwise."""
    parts = token.split(".")
    if len(parts) != 3:
        raise VideoTokenError(20101)
    header, payload = _json(parts[0]), _json(parts[1])
    if header.get("alg") != "HS256" or not str(header.get("cty", "")).startswith("twilio-fpa"):
        raise VideoTokenError(20101)
    account = store.accounts.get(str(payload.get("sub", "")))
    key = account.keys.get(str(payload.get("iss", ""))) if account else None
    if account is None or key is None:
        raise VideoTokenError(20103)
    expected = hmac.new(key.secret.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    try:
        signature = _b64(parts[2])
    except (binascii.Error, ValueError):
        raise VideoTokenError(20107) from None
    if not hmac.compare_digest(expected, signature):
        raise VideoTokenError(20107)
    moment = time.time() if now is None else now
    exp, nbf = payload.get("exp"), payload.get("nbf", payload.get("iat"))
    if not isinstance(exp, int) or exp <= moment or exp - (nbf if isinstance(nbf, int) else moment) > MAX_TTL_S:
        raise VideoTokenError(20104)
    if isinstance(nbf, int) and nbf > moment + 60:
        raise VideoTokenError(20105)
    grants = payload.get("grants")
    if not isinstance(grants, dict) or not isinstance(grants.get("video"), dict) or not grants.get("identity"):
        raise VideoTokenError(20106)
    room = grants["video"].get("room")
    return VideoGrantInfo(account, key.sid, str(grants["identity"]), str(room) if room else None, exp)
