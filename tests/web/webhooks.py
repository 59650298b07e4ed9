"""Twilio's webhooks as Twilio sends them, signed for the app's public URL, through a test client or httpx."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx

from clinic_reminders.gateways import SIGNATURE_HEADER, compute_signature
from tests.fixtures.simulator import CLINIC_NUMBER

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
ACCOUNT_SID = "AC" + "0" * 32
PUBLIC_URL = "http://testserver"  # the test client's own base URL
TWILIO_SETTINGS = {"twilio_account_sid": ACCOUNT_SID, "twilio_auth_token": AUTH_TOKEN, "public_url": PUBLIC_URL}


def sms(patient_number: str, body: str, sid: str, **extra: str) -> dict[str, str]:
    """An inbound text's parameters."""
    fields = {"AccountSid": ACCOUNT_SID, "MessageSid": sid, "From": patient_number, "To": CLINIC_NUMBER, "Body": body}
    return {**fields, "NumSegments": "1", **extra}


def post(client: httpx.Client | Any, path: str, params: dict[str, str], public_url: str = PUBLIC_URL) -> Any:
    """A signed form POST (status callbacks, voice)."""
    signature = compute_signature(AUTH_TOKEN, public_url + path, params)
    return client.post(path, data=params, headers={SIGNATURE_HEADER: signature})


def get(client: httpx.Client | Any, path: str, params: dict[str, str], public_url: str = PUBLIC_URL) -> Any:
    """A signed GET with the parameters in the query (inbound SMS, as the seed configures it)."""
    target = f"{path}?{urlencode(params)}"
    return client.get(target, headers={SIGNATURE_HEADER: compute_signature(AUTH_TOKEN, public_url + target)})
