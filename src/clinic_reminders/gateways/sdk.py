"""Plumbing between the gateway and the twilio SDK: clients pointed at a base URL, a better aiohttp client,
exception translation and SDK objects -> records."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from .errors import TRANSPORT_ERRORS, TwilioError, from_page_exception, from_rest_exception, from_transport_error
from .records import CallRecord, IncomingNumber, MessageRecord

# The SDK logs every request URL with its query string (To=+1...) at INFO: keep it below that.
SDK_LOGGER = logging.getLogger("clinic_reminders.gateways.twilio_sdk")
SDK_LOGGER.setLevel(logging.WARNING)

DOMAINS = ("api", "video", "messaging", "monitor", "lookups", "trusthub")


class AsyncHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """The SDK's aiohttp client with a real default timeout, a bounded pool and repeated form keys.

    The stock client passes `timeout=None` per request, which disables aiohttp's timeout, and hands list
    values (StatusCallbackEvent) to aiohttp's form encoder, which rejects them.
    """

    def __init__(self, timeout: float, max_connections: int) -> None:
        super().__init__(pool_connections=False, timeout=timeout, logger=SDK_LOGGER)
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max_connections),
            timeout=aiohttp.ClientTimeout(total=timeout),
        )

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (the SDK's signature)
        allow_redirects: bool = False,
    ) -> Response:
        headers = dict(headers or {})
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        async with self.session.request(
            method.upper(),
            url,
            params=_pairs(params),
            data=_pairs(data),
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout or self.timeout),
            allow_redirects=allow_redirects,
        ) as response:
            text = await response.text()
            # The SDK's clients keep the last response under this name; the conformance tests read it.
            self._test_only_last_response = Response(response.status, text, response.headers)
            return self._test_only_last_response


def _pairs(values: dict[str, object] | None) -> list[tuple[str, str]] | None:
    if values is None:
        return None
    pairs: list[tuple[str, str]] = []
    for key, value in values.items():
        for item in value if isinstance(value, list | tuple) else [value]:
            if item is not None:  # as `requests` does for the sync client
                pairs.append((key, _form_value(item)))
    return pairs


def _form_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (aiohttp.ClientError, *TRANSPORT_ERRORS)


@contextmanager
def translated() -> Iterator[None]:
    """SDK and transport exceptions -> TwilioError, without chaining (their text quotes URLs and numbers)."""
    try:
        yield
    except TwilioError:
        raise
    except TwilioRestException as exc:
        raise from_rest_exception(exc) from None
    except TwilioException as exc:  # "Unable to fetch page", with the HTTP response as second argument
        raise from_page_exception(exc) from None
    except _TRANSPORT_ERRORS as exc:
        raise from_transport_error(exc) from None


def make_client(
    credentials: tuple[str, str],
    account_sid: str,
    base_url: str | None,
    http_client: Any,
    domain_urls: Mapping[str, str] | None = None,
) -> Any:
    """An SDK client whose every domain (api, video, messaging, monitor, lookups, trusthub) lives at `base_url`,
    or at its own URL in `domain_urls` (e.g. one Prism mock per spec)."""
    user, password = credentials
    client = Client(user, password, account_sid=account_sid, http_client=http_client)
    client.edge = client.region = None  # never from TWILIO_EDGE/TWILIO_REGION: base_url decides the host
    for name in DOMAINS:
        url = (domain_urls or {}).get(name) or base_url
        if url:
            getattr(client, name).base_url = url.rstrip("/")
    return client


def message_record(m: Any) -> MessageRecord:
    return MessageRecord(
        sid=str(m.sid),
        status=str(m.status),
        direction=str(m.direction),
        to=str(m.to or ""),
        from_=str(m.from_ or ""),
        body=str(m.body or ""),
        date_sent=m.date_sent,
        date_created=m.date_created,
        error_code=as_int(m.error_code),
        num_segments=as_int(m.num_segments),
    )


def call_record(c: Any) -> CallRecord:
    return CallRecord(
        sid=str(c.sid),
        status=str(c.status),
        direction=str(c.direction or ""),
        to=str(c.to or ""),
        from_=str(getattr(c, "_from", None) or ""),  # CallInstance says `_from`, MessageInstance `from_`
        start_time=c.start_time,
        date_created=c.date_created,
        duration=as_int(c.duration),
        answered_by=c.answered_by,
    )


def incoming_number(n: Any) -> IncomingNumber:
    return IncomingNumber(
        sid=str(n.sid),
        phone_number=str(n.phone_number),
        friendly_name=str(n.friendly_name or ""),
        sms_url=n.sms_url or None,
        sms_method=n.sms_method or None,
        voice_url=n.voice_url or None,
        voice_method=n.voice_method or None,
        sms_capable=capable(n.capabilities, "sms"),
        voice_capable=capable(n.capabilities, "voice"),
    )


def capable(capabilities: Any, name: str) -> bool:
    """Incoming numbers say `sms`, available numbers `SMS`: compare case-insensitively."""
    if not isinstance(capabilities, dict):
        return False
    return any(bool(v) for k, v in capabilities.items() if str(k).lower() == name)


def as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def utc(moment: datetime | None) -> datetime | None:
    """The SDK formats datetimes as `%Y-%m-%dT%H:%M:%SZ` without converting: convert first."""
    if moment is None:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def utc_day(day: date | None) -> datetime | None:
    if day is None:
        return None
    if isinstance(day, datetime):
        return utc(day)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
