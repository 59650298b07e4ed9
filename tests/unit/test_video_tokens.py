"""Video access tokens decoded with PyJWT: grant, room, identity, issuer, subject and a lifetime within 24 h."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from clinic_reminders.effective import NotConfigured, TwilioConfig
from clinic_reminders.telehealth.tokens import MAX_TTL, patient_identity, provider_identity, token_ttl, video_token

ACCOUNT = "AC" + "1" * 32
KEY = "SK" + "2" * 32
SECRET = "api-key-secret-0123456789abcdef-0123"  # Twilio secrets are 32 characters; PyJWT warns below


def config(**changes: str | None) -> TwilioConfig:
    values: dict[str, str | None] = {
        "account_sid": ACCOUNT,
        "auth_token": "token",
        "phone_number": "+15005550006",
        "api_key": KEY,
        "api_secret": SECRET,
        "base_url": None,
        "public_url": "https://clinic.example.com",
    }
    values.update(changes)
    return TwilioConfig(**values)  # type: ignore[arg-type]


def decode(token: str, secret: str = SECRET) -> dict[str, object]:
    return dict(jwt.decode(token, secret, algorithms=["HS256"], options={"verify_aud": False}))


def test_it_grants_one_room_to_one_identity() -> None:
    grant = video_token(config(), identity=patient_identity(7), room="appt-3-abcd1234", valid_until=_in(hours=1))
    claims = decode(grant.token)
    assert claims["grants"] == {"identity": "patient-7", "video": {"room": "appt-3-abcd1234"}}
    assert claims["iss"] == KEY
    assert claims["sub"] == ACCOUNT
    assert jwt.get_unverified_header(grant.token)["cty"] == "twilio-fpa;v=1"


def test_it_lasts_until_the_visit_closes() -> None:
    grant = video_token(config(), identity=provider_identity(2), room="r", valid_until=_in(minutes=50))
    claims = decode(grant.token)
    assert isinstance(claims["exp"], int)
    assert abs(claims["exp"] - (time.time() + 50 * 60)) < 5
    assert abs((grant.expires_at - _in(minutes=50)).total_seconds()) < 5


def test_it_never_lasts_more_than_24_hours() -> None:
    grant = video_token(config(), identity="provider-1", room="r", valid_until=_in(days=10))
    claims = decode(grant.token)
    assert isinstance(claims["exp"], int) and isinstance(claims["nbf"], int)
    assert claims["exp"] - claims["nbf"] <= 24 * 3600
    assert claims["exp"] - time.time() <= MAX_TTL.total_seconds()


@pytest.mark.parametrize(
    ("remaining", "expected"),
    [
        (timedelta(minutes=-30), timedelta(minutes=5)),
        (timedelta(hours=2), timedelta(hours=2)),
        (timedelta(days=2), MAX_TTL),
    ],
)
def test_it_clamps_the_lifetime(remaining: timedelta, expected: timedelta) -> None:
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert token_ttl(now + remaining, now) == expected


def test_it_is_refused_with_another_secret() -> None:
    grant = video_token(config(), identity="patient-1", room="r", valid_until=_in(hours=1))
    with pytest.raises(jwt.InvalidSignatureError):
        decode(grant.token, "another-secret-of-similar-length-0123")


def test_it_keeps_the_token_out_of_its_repr() -> None:
    grant = video_token(config(), identity="patient-1", room="r", valid_until=_in(hours=1))
    assert grant.token not in repr(grant)
    assert "patient-1" in repr(grant)


@pytest.mark.parametrize("missing", ["api_key", "api_secret", "account_sid"])
def test_it_needs_the_api_key_and_secret(missing: str) -> None:
    with pytest.raises(NotConfigured, match="TWILIO_API_KEY"):
        video_token(config(**{missing: None}), identity="patient-1", room="r", valid_until=_in(hours=1))


def _in(**delta: float) -> datetime:
    return datetime.now(UTC) + timedelta(**delta)
