"""Twilio's side of the conversation: signed webhooks, message status callbacks, inbound texts.

Every webhook is signed with the account's auth token exactly as Twilio does: for a POST the URL plus the
sorted form parameters, for a GET the URL with the parameters already in its query. All go over one shared
aiohttp session, from background tasks, so no REST answer ever waits on a webhook. A webhook that fails is
recorded as a Monitor alert 11200 (HTTP retrieval failure), as Twilio does.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import aiohttp
from yarl import URL

from clinic_reminders.gateways.signatures import SIGNATURE_HEADER, compute_signature

from .state import Account, Message, new_sid

if TYPE_CHECKING:
    from .core import Simulator

log = logging.getLogger(__name__)

FormParams = Sequence[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class WebhookResult:
    status: int | None  # None: no HTTP answer (refused, timed out)
    body: str
    content_type: str
    url: str  # as requested (with the query, for a GET)


def prepare_webhook(
    auth_token: str, method: str, url: str, params: FormParams
) -> tuple[str, str, str | None, dict[str, str]]:
    """Method, URL, body and headers of a webhook exactly as Twilio sends it, signature included.

    GET: the parameters join the URL's query and the signature covers that URL alone. POST: they form the
    body and the signature covers the URL plus every parameter, sorted.
    """
    method = method.upper()
    headers = {"User-Agent": "TwilioProxy/1.1", "I-Twilio-Idempotency-Token": new_sid("")}
    body: str | None = None
    if method == "GET":
        if params:
            url = url + ("&" if "?" in url else "?") + urlencode(params)
        headers[SIGNATURE_HEADER] = compute_signature(auth_token, url)
    else:
        body = urlencode(params)
        headers[SIGNATURE_HEADER] = compute_signature(auth_token, url, params)
        headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
    return method, url, body, headers


class WebhookSender:
    def __init__(self, sim: Simulator) -> None:
        self._sim = sim
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._trust: tuple[str, ssl.SSLContext] | None = None

    def _verify(self) -> ssl.SSLContext | bool:
        """Like Twilio, verify the service's certificate: against `webhook_ca_file` when set (tests), else the
        system's CAs."""
        ca_file = self._sim.config.webhook_ca_file
        if not ca_file:
            return True
        if self._trust is None or self._trust[0] != ca_file:
            self._trust = (ca_file, ssl.create_default_context(cafile=ca_file))
        return self._trust[1]

    def _client(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            timeout = aiohttp.ClientTimeout(total=self._sim.config.webhook_timeout_s)
            self._session = aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=50))
            self._loop = loop
        return self._session

    async def aclose(self) -> None:
        if self._session is not None and self._loop is asyncio.get_running_loop():
            await self._session.close()
        self._session = None

    async def send(
        self, account: Account, url: str, method: str, params: FormParams, *, resource_sid: str | None = None
    ) -> WebhookResult:
        """Request `url` as Twilio would, signed with `account`'s auth token."""
        method, url, body, headers = prepare_webhook(account.auth_token, method, url, params)
        try:
            async with self._client().request(
                method, URL(url, encoded=True), data=body, headers=headers, allow_redirects=False, ssl=self._verify()
            ) as response:
                text = await response.text()
                result = WebhookResult(response.status, text, response.headers.get("Content-Type", ""), url)
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            log.debug("webhook failed: %s", type(exc).__name__)
            result = WebhookResult(None, "", "", url)
        if result.status is None or result.status >= 400:
            text = urlencode({"Msg": "HTTP retrieval failure", "httpResponse": str(result.status or 502), "url": url})
            variables = urlencode(params)
            self._sim.store.add_alert(account.sid, text, method, url, resource_sid, variables, result.body[:1000])
        return result


async def run_message_lifecycle(
    sim: Simulator, account: Account, message: Message, failure: tuple[int, str] | None
) -> None:
    """queued -> sent -> delivered, or `failure` (error code, final status), with a callback at each step."""
    delay = sim.config.callback_delay_ms / 1000
    steps: list[tuple[str, int | None]]
    if failure is None:
        steps = [("queued", None), ("sent", None), ("delivered", None)]
    elif failure[1] == "failed":
        steps = [("queued", None), ("failed", failure[0])]
    else:
        steps = [("queued", None), ("sent", None), ("undelivered", failure[0])]
    for status, code in steps:
        if status != "queued":
            await asyncio.sleep(delay)
        message.move(status, code)
        if message.status_callback:
            params = [
                ("SmsSid", message.sid),
                ("SmsStatus", status),
                ("MessageStatus", status),
                ("To", message.to),
                ("MessageSid", message.sid),
                ("AccountSid", account.sid),
                ("From", message.from_),
                ("ApiVersion", "2010-04-01"),
            ]
            if message.messaging_service_sid:
                params.append(("MessagingServiceSid", message.messaging_service_sid))
            if code is not None:
                params.append(("ErrorCode", str(code)))
            result = await sim.webhooks.send(account, message.status_callback, "POST", params, resource_sid=message.sid)
            message.callbacks.append({"status": status, "http_status": result.status})
