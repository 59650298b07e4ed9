"""Encryption at rest for the Twilio secrets the configuration screen stores, and password hashing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class DecryptionError(RuntimeError):
    """A stored secret cannot be read with the current REMINDERS_SECRET_KEY (was the key changed?)."""


def _derive(secret_key: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret_key.encode())


class SecretBox:
    """Fernet with a key derived (HKDF-SHA256) from REMINDERS_SECRET_KEY, so one setting protects everything."""

    def __init__(self, secret_key: str) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(secret_key, b"clinic-reminders/secrets-at-rest")))

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise DecryptionError(
                "a stored Twilio secret cannot be decrypted: REMINDERS_SECRET_KEY differs from the key it was "
                "saved with; enter the secret again on the configuration screen"
            ) from exc


def signing_key(secret_key: str, purpose: str) -> bytes:
    """A separate HMAC key per use (sessions, patient links...) derived from the one secret key."""
    return _derive(secret_key, f"clinic-reminders/{purpose}".encode())


# Passwords: scrypt from the standard library (memory-hard), parameters stored with the hash.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(
        password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=len(digest) // 2
    )
    return hmac.compare_digest(candidate.hex(), digest)


def new_api_token() -> tuple[str, str]:
    """Returns (token to show once, its SHA-256 to store)."""
    token = "crt_" + secrets.token_urlsafe(32)
    return token, hash_api_token(token)


def hash_api_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
