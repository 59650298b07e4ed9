"""Signed JSON webhooks (Standard Webhooks): one POST of the payload per delivery, signed with the destination's
secret ("whsec_" + base64) by the `standardwebhooks` library.

Headers: `webhook-id` (the payload's id, the same at every retry: receivers de-duplicate on it),
`webhook-timestamp` (this attempt's time, in seconds), `webhook-signature` ("v1,<base64 HMAC-SHA256>").

What the receiver's answer means:
- any 2xx: delivered;
- 410 Gone: the receiver says the endpoint is gone for good (the specification's "disable the endpoint"): a
  permanent failure, so the engine pauses the destination and alerts the office's admins;
- anything else (3xx, which are not followed, 4xx, 5xx), a timeout, a refused connection, a TLS certificate
  that is not trusted: tried again later, for the whole retry window.
Reasons name a status code or the kind of network error, never the response's body.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from datetime import UTC, datetime
from functools import cache
from http import HTTPStatus
from typing import ClassVar

import httpx
from standardwebhooks.webhooks import Webhook

from .. import __version__
from ..models import DestinationKind
from .transports import DeliveryFailed, DestinationConfig, Payload

USER_AGENT = f"clinic-reminders/{__version__} (write-back)"


@cache
def _trusted() -> ssl.SSLContext:
    """The system's certificate authorities, loaded once (a context per request would cost milliseconds)."""
    return ssl.create_default_context()


_local = threading.local()


def _client() -> httpx.Client:
    """One HTTP client per sending thread (each destination has its own threads): its connections are kept
    for the next send to the same receiver, which saves a TCP and TLS handshake each time."""
    client: httpx.Client | None = getattr(_local, "client", None)
    if client is None:
        client = _local.client = httpx.Client(
            verify=_trusted(), follow_redirects=False, headers={"user-agent": USER_AGENT}
        )
    return client


def status_reason(code: int) -> str:
    """'HTTP 503 Service Unavailable': the phrase from the standard, not from the receiver's status line."""
    try:
        return f"HTTP {code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"HTTP {code}"


def network_reason(error: httpx.TransportError) -> str:
    """What went wrong on the way, from the error's class and cause (their texts may quote the URL's query)."""
    if isinstance(error, httpx.TimeoutException):
        return f"timed out ({type(error).__name__})"
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate not trusted ({getattr(cause, 'verify_message', None) or 'verification failed'})"
        if isinstance(cause, ssl.SSLError):
            return f"TLS handshake failed ({type(cause).__name__})"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "the host name does not resolve"
        cause = cause.__cause__ or cause.__context__
    return f"could not reach the receiver ({type(error).__name__})"


def signed_headers(secret: str, message_id: str, body: str, at: datetime) -> dict[str, str]:
    try:
        signature = Webhook(secret).sign(message_id, at, body)
    except Exception as error:  # a malformed secret: binascii.Error, EmptyWebhookSecretError
        raise DeliveryFailed("the signing secret is not a valid whsec_ secret: rotate it", permanent=True) from error
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


class WebhookTransport:
    kind: ClassVar[str] = DestinationKind.WEBHOOK

    def send(self, destination: DestinationConfig, payload: Payload, *, timeout: float) -> str:
        url = destination.settings.get("url")
        if not url:
            raise DeliveryFailed("no URL is set", permanent=True)
        if not destination.secret:
            raise DeliveryFailed("no signing secret is set: rotate it", permanent=True)
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        headers = signed_headers(destination.secret, payload["id"], body, datetime.now(UTC))
        try:
            response = _client().post(url, content=body.encode(), headers=headers, timeout=timeout)
        except httpx.TransportError as error:
            raise DeliveryFailed(network_reason(error)) from None
        except httpx.InvalidURL:
            raise DeliveryFailed("the URL is not valid", permanent=True) from None
        if response.is_success:
            return status_reason(response.status_code)
        if response.status_code == HTTPStatus.GONE:
            raise DeliveryFailed(status_reason(response.status_code) + ": the receiver retired it", permanent=True)
        raise DeliveryFailed(status_reason(response.status_code))
