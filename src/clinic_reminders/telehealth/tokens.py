"""Twilio Video access tokens: one room, one identity, valid just long enough (never beyond Twilio's 24 h).

Identities carry no names: `provider-<id>`, `patient-<id>`, `staff-<id>`, `test-<room>-a`. The token is an
HS256 JWT signed with the office's API key secret (issuer = the key's SID, subject = the account SID).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VideoGrant

from ..effective import NotConfigured, TwilioConfig
from ..models import utcnow

MAX_TTL = timedelta(hours=24)  # Twilio refuses longer tokens (error 20104)
MIN_TTL = timedelta(minutes=5)


@dataclass(frozen=True)
class VideoToken:
    token: str = field(repr=False)  # a credential: never in a log line
    identity: str
    room: str
    expires_at: datetime

    def as_json(self) -> dict[str, str]:
        return {
            "token": self.token,
            "identity": self.identity,
            "room": self.room,
            "expires_at": self.expires_at.isoformat(),
        }


def provider_identity(provider_id: int) -> str:
    return f"provider-{provider_id}"


def patient_identity(patient_id: int) -> str:
    return f"patient-{patient_id}"


def staff_identity(user_id: int) -> str:
    return f"staff-{user_id}"


def is_patient(identity: str | None) -> bool:
    return bool(identity and identity.startswith("patient-"))


def token_ttl(valid_until: datetime, now: datetime | None = None) -> timedelta:
    """Until `valid_until`, clamped to [5 min, 24 h]."""
    remaining = valid_until - (now or utcnow())
    return max(MIN_TTL, min(MAX_TTL, remaining))


def video_token(
    config: TwilioConfig, *, identity: str, room: str, valid_until: datetime, now: datetime | None = None
) -> VideoToken:
    """A token for `identity` to join `room` until `valid_until` (at most 24 h from now)."""
    if not (config.account_sid and config.api_key and config.api_secret):
        raise NotConfigured("Video needs TWILIO_ACCOUNT_SID, TWILIO_API_KEY and TWILIO_API_SECRET (the set-up page)")
    ttl = token_ttl(valid_until, now)
    token = AccessToken(
        config.account_sid, config.api_key, config.api_secret, identity=identity, ttl=int(ttl.total_seconds())
    )
    token.add_grant(VideoGrant(room=room))
    jwt = token.to_jwt()
    return VideoToken(
        token=jwt if isinstance(jwt, str) else jwt.decode(),
        identity=identity,
        room=room,
        expires_at=(now or utcnow()) + ttl,
    )
