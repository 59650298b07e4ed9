"""What a failed webhook send says: a status code or the kind of network error, never the receiver's words."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime

import httpx
import pytest

from clinic_reminders.writeback.transports import DeliveryFailed
from clinic_reminders.writeback.webhook import network_reason, signed_headers, status_reason


def _caused(error: httpx.TransportError, cause: BaseException) -> httpx.TransportError:
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (httpx.ReadTimeout("read timed out after /hooks?token=x"), "timed out (ReadTimeout)"),
        (httpx.ConnectTimeout("..."), "timed out (ConnectTimeout)"),
        (_caused(httpx.ConnectError("refused"), ConnectionRefusedError(111, "refused")), "connection refused"),
        (
            _caused(httpx.ConnectError("x"), ssl.SSLCertVerificationError(1, "self-signed certificate")),
            "TLS certificate not trusted (verification failed)",
        ),
        (_caused(httpx.ConnectError("x"), ssl.SSLError(1, "wrong version number")), "TLS handshake failed (SSLError)"),
        (httpx.RemoteProtocolError("Server disconnected: Ana"), "could not reach the receiver (RemoteProtocolError)"),
    ],
)
def test_network_failures_are_named_by_kind(error: httpx.TransportError, reason: str) -> None:
    assert network_reason(error) == reason


def test_statuses_carry_the_standard_phrase() -> None:
    assert status_reason(503) == "HTTP 503 Service Unavailable"
    assert status_reason(299) == "HTTP 299"


def test_a_malformed_secret_is_a_permanent_failure() -> None:
    with pytest.raises(DeliveryFailed) as failure:
        signed_headers("whsec_", "evt_1", "{}", datetime.now(UTC))
    assert failure.value.permanent
