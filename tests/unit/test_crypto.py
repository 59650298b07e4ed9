"""Encryption at rest, password hashing and API token hashing."""

from __future__ import annotations

import pytest

from clinic_reminders.crypto import (
    DecryptionError,
    SecretBox,
    hash_api_token,
    hash_password,
    new_api_token,
    verify_password,
)


def test_it_round_trips_a_secret_and_never_stores_it_in_clear() -> None:
    box = SecretBox("k" * 40)
    token = box.encrypt("twilio-auth-token")
    assert "twilio-auth-token" not in token
    assert box.decrypt(token) == "twilio-auth-token"


def test_it_refuses_to_decrypt_with_another_key() -> None:
    token = SecretBox("k" * 40).encrypt("twilio-auth-token")
    with pytest.raises(DecryptionError, match="REMINDERS_SECRET_KEY"):
        SecretBox("j" * 40).decrypt(token)


def test_it_verifies_only_the_right_password() -> None:
    stored = hash_password("correct horse battery")
    assert verify_password("correct horse battery", stored)
    assert not verify_password("correct horse batterY", stored)
    assert not verify_password("anything", None)
    assert not verify_password("anything", "md5$abc")


def test_it_stores_only_the_hash_of_an_api_token() -> None:
    token, token_hash = new_api_token()
    assert token.startswith("crt_")
    assert token not in token_hash
    assert hash_api_token(token) == token_hash
