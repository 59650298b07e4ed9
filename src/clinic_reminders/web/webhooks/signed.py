"""Reading a Twilio webhook and checking its signature against the public URL Twilio was given."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from fastapi import HTTPException, Request
from prometheus_client import Counter
from starlette.concurrency import run_in_threadpool

from ...accounts import the_office
from ...db import transaction
from ...effective import TwilioConfig, twilio_config
from ...gateways import SIGNATURE_HEADER, WebhookSignatureValidator, path_with_query
from ...models.messages import ADDRESS_LENGTH, STATUS_LENGTH

log = logging.getLogger(__name__)
REJECTED = Counter("twilio_webhooks_rejected", "Webhooks refused for a missing or wrong signature", ["path"])
CONFIG_TTL = 5.0  # seconds a configuration-screen change takes to reach the webhooks
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
    config: TwilioConfig


async def _config(request: Request) -> TwilioConfig:
    state = request.app.state
    cached: tuple[float, TwilioConfig] | None = getattr(state, "twilio_config_cache", None)
    if cached is None or time.monotonic() - cached[0] > CONFIG_TTL:

        def load() -> TwilioConfig:
            with transaction(state.sessions) as db:
                return twilio_config(state.settings, the_office(db))

        cached = (time.monotonic(), await run_in_threadpool(load))
        state.twilio_config_cache = cached
    return cached[1]


async def verified(request: Request) -> TwilioRequest:
    """The request's parameters; 403 when the signature does not match, 400 when a parameter cannot be Twilio's
    (nothing is changed then)."""
    config = await _config(request)
    query = dict(request.query_params)
    form = [(k, str(v)) for k, v in (await request.form()).multi_items()] if request.method == "POST" else None
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
        REJECTED.labels(path=request.url.path).inc()
        log.warning("refused a webhook with a missing or invalid Twilio signature on %s", request.url.path)
        raise HTTPException(status_code=403, detail="invalid Twilio signature")
    params = dict(form) if form is not None else query
    if problem := _unstorable(params):
        log.warning("refused a signed webhook on %s: %s", request.url.path, problem)
        raise HTTPException(status_code=400, detail=problem)
    return TwilioRequest(params=params, query=query, config=config)


def _unstorable(params: dict[str, str]) -> str | None:
    """What no Twilio webhook sends and no column would hold; names the parameter, never its value."""
    for name, value in params.items():
        if "\x00" in value:
            return f"{name}: contains a NUL character"
        if len(value) > MAX_LENGTHS.get(name, len(value)):
            return f"{name}: longer than {MAX_LENGTHS[name]} characters"
    return None
