"""Reading a Twilio webhook, finding the office it is for (`office_directory`) and checking its signature with
that office's auth token against the public URL Twilio was given."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request
from prometheus_client import Counter
from starlette.concurrency import run_in_threadpool

from ...db import transaction
from ...effective import TwilioConfig
from ...gateways import SIGNATURE_HEADER, WebhookSignatureValidator, path_with_query
from ...models.messages import ADDRESS_LENGTH, STATUS_LENGTH
from ...office_directory import Directory, Stamp, stamp

log = logging.getLogger(__name__)
REJECTED = Counter("twilio_webhooks_rejected", "Webhooks refused for a missing or wrong signature", ["path"])
STAMP_INTERVAL = 1.0  # seconds between two questions whether an office changed
RELOAD_INTERVAL = 60.0
TWILIO_SID_LENGTH = 34  # every SID Twilio documents: two letters and 32 hex digits
# The parameters kept in columns of their own, and the most Twilio sends in each (the columns fit it).
MAX_LENGTHS = {
    **dict.fromkeys(("MessageSid", "SmsSid", "CallSid", "AccountSid"), TWILIO_SID_LENGTH),
    **dict.fromkeys(("To", "From"), ADDRESS_LENGTH),
    **dict.fromkeys(("MessageStatus", "SmsStatus", "CallStatus"), STATUS_LENGTH),
}


@dataclass(frozen=True)
class TwilioRequest:
    params: dict[str, str]  # form fields of a POST, or query fields of a GET
    query: dict[str, str]
    config: TwilioConfig  # the configuration in force of the office the webhook is for
    office_id: int


@dataclass
class _Cached:
    directory: Directory
    stamp: Stamp
    loaded_at: float
    checked_at: float


async def _directory(request: Request) -> Directory:
    """The office directory, reloaded when an office or clinic changed: each web process asks at most every
    `STAMP_INTERVAL` seconds (one small statement), so a change reaches every replica within about a second, and
    reloads at least every `RELOAD_INTERVAL` whatever the stamp says (servers whose clocks disagree may save rows
    with an older `updated_at` than the latest)."""
    state = request.app.state
    cached: _Cached | None = getattr(state, "office_directory", None)
    now = time.monotonic()
    if cached is not None and now - cached.checked_at < STAMP_INTERVAL:
        return cached.directory

    def load() -> _Cached:
        with transaction(state.sessions) as db:
            current = stamp(db)
            if cached is not None and current == cached.stamp and now - cached.loaded_at < RELOAD_INTERVAL:
                return _Cached(cached.directory, current, cached.loaded_at, now)
            return _Cached(Directory.load(db, state.settings), current, now, now)

    state.office_directory = cached = await run_in_threadpool(load)
    return cached.directory


async def office_of(request: Request) -> int | None:
    """The office a webhook names by its account and numbers, its signature unchecked (for a refusal's record)."""
    directory = await _directory(request)
    form = dict((await request.form()).multi_items()) if request.method == "POST" else dict(request.query_params)
    params = {k: str(v) for k, v in form.items()}
    tenant = directory.find(params.get("AccountSid", ""), (params.get("To", ""), params.get("From", "")))
    return tenant.office_id if tenant is not None else None


def forget_directory(app: Any) -> None:
    """This process reads the office directory again at the next webhook (a change it made itself)."""
    app.state.office_directory = None


def _refuse(request: Request, why: str) -> HTTPException:
    REJECTED.labels(path=request.url.path).inc()
    log.warning("refused a webhook on %s: %s", request.url.path, why)
    return HTTPException(status_code=403, detail=why)


async def verified(request: Request) -> TwilioRequest:
    """The request's parameters and the office they are for; 403 when no office is for its account and numbers,
    the office is suspended or the signature is not that office's, 400 when a parameter cannot be Twilio's
    (nothing is changed then)."""
    directory = await _directory(request)
    query = dict(request.query_params)
    form = [(k, str(v)) for k, v in (await request.form()).multi_items()] if request.method == "POST" else None
    params = dict(form) if form is not None else query
    tenant = directory.find(params.get("AccountSid", ""), (params.get("To", ""), params.get("From", "")))
    if tenant is None:
        raise _refuse(request, "no office has this Twilio account and number")
    config = tenant.config
    signature = request.headers.get(SIGNATURE_HEADER)
    valid = (
        config.auth_token is not None
        and config.public_url is not None
        and signature is not None
        and WebhookSignatureValidator(config.auth_token, config.public_url).is_valid(
            path_with_query(request.scope.get("raw_path") or request.url.path, request.scope.get("query_string", b"")),
            form,
            signature,
        )
    )
    if not valid:
        raise _refuse(request, "invalid Twilio signature")
    if tenant.suspended:
        raise _refuse(request, "the office is suspended")
    if problem := _unstorable(params):
        log.warning("refused a signed webhook on %s: %s", request.url.path, problem)
        raise HTTPException(status_code=400, detail=problem)
    return TwilioRequest(params=params, query=query, config=config, office_id=tenant.office_id)


def _unstorable(params: dict[str, str]) -> str | None:
    """What no Twilio webhook sends and no column would hold; names the parameter, never its value."""
    for name, value in params.items():
        if "\x00" in value:
            return f"{name}: contains a NUL character"
        if len(value) > MAX_LENGTHS.get(name, len(value)):
            return f"{name}: longer than {MAX_LENGTHS[name]} characters"
    return None
