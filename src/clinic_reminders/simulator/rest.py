"""The REST surface as a bare ASGI handler: routing, Basic auth, fault injection, Twilio's error JSON, paging.

This is the hot path (Messages.create at 1,000+ requests/s), so it avoids a framework: a regex table, the
form body parsed with `parse_qsl`, JSON written with `json.dumps`.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from starlette.types import Receive, Scope, Send

from clinic_reminders.gateways.signatures import MultiParams

from .magic import ERRORS
from .state import Account

if TYPE_CHECKING:
    from .core import Simulator


E164 = re.compile(r"^\+[1-9]\d{6,14}$")
JSON_HEADERS = [(b"content-type", b"application/json; charset=utf-8")]


class ApiError(Exception):
    """Answered as Twilio's error JSON: {"code", "message", "more_info", "status"}."""

    def __init__(
        self, code: int, *, value: str = "", path: str = "", status: int | None = None, message: str | None = None
    ) -> None:
        default_status, template = ERRORS.get(code, (400, "Bad request"))
        self.code = code
        self.status = status or default_status
        self.message = message or template.format(value=value, path=path)
        super().__init__(self.message)

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }
        if self.code == 20003:
            body["detail"] = "Your AccountSid or AuthToken was incorrect."
        return body


@dataclass(slots=True)
class RestRequest:
    method: str
    path: str  # the route path, e.g. /2010-04-01/Accounts/AC.../Messages.json
    match: dict[str, str]
    query: MultiParams
    form: MultiParams
    account: Account
    credential_sid: str
    base_url: str  # absolute URL of the API root, mount prefix included

    def arg(self, name: str) -> str | None:
        values = self.form.get(name) or self.query.get(name)
        return values[0] if values else None

    def args(self, name: str) -> list[str]:
        return self.form.get(name) or self.query.get(name) or []

    def int_arg(self, name: str, default: int) -> int:
        value = self.arg(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise ApiError(20001, value=name) from None


Result = tuple[int, dict[str, Any] | None]
Handler = Callable[["Simulator", RestRequest], Result | Awaitable[Result]]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    account_in_path: bool = True


def route(
    routes: list[Route], method: str, pattern: str, *, account_in_path: bool = True
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        routes.append(Route(method, re.compile("^" + pattern + "$"), handler, account_in_path))
        return handler

    return register


def page_2010(req: RestRequest, key: str, items: list[Any], render: Callable[[Any], dict[str, Any]]) -> Result:
    """Twilio's 2010 list envelope with relative page URIs (as Twilio sends them)."""
    page_size = max(1, min(req.int_arg("PageSize", 50), 1000))
    page = max(0, req.int_arg("Page", 0))
    start = page * page_size
    chunk = items[start : start + page_size]
    filters = [(k, v) for k, vs in req.query.items() if k not in ("Page", "PageSize", "PageToken") for v in vs]

    def uri(number: int, token: bool = False) -> str:
        extra = [("PageToken", f"PA{number}")] if token else []
        return f"{req.path}?{urlencode([*filters, ('PageSize', page_size), ('Page', number), *extra])}"

    more = start + page_size < len(items)
    return 200, {
        key: [render(item) for item in chunk],
        "end": start + max(len(chunk) - 1, 0),
        "first_page_uri": uri(0),
        "next_page_uri": uri(page + 1, token=True) if more else None,
        "page": page,
        "page_size": page_size,
        "previous_page_uri": uri(page - 1, token=True) if page > 0 else None,
        "start": start,
        "uri": uri(page),
    }


def page_v1(req: RestRequest, key: str, items: list[Any], render: Callable[[Any], dict[str, Any]]) -> Result:
    """The v1 envelope (`meta` with absolute page URLs, which the SDK follows as they are)."""
    page_size = max(1, min(req.int_arg("PageSize", 50), 1000))
    page = max(0, req.int_arg("Page", 0))
    start = page * page_size
    chunk = items[start : start + page_size]
    filters = [(k, v) for k, vs in req.query.items() if k not in ("Page", "PageSize", "PageToken") for v in vs]

    def url(number: int) -> str:
        return f"{req.base_url}{req.path}?{urlencode([*filters, ('PageSize', page_size), ('Page', number)])}"

    more = start + page_size < len(items)
    return 200, {
        key: [render(item) for item in chunk],
        "meta": {
            "first_page_url": url(0),
            "key": key,
            "next_page_url": url(page + 1) if more else None,
            "page": page,
            "page_size": page_size,
            "previous_page_url": url(page - 1) if page > 0 else None,
            "url": url(page),
        },
    }


class RestApi:
    def __init__(self, sim: Simulator, routes: list[Route]) -> None:
        self.sim = sim
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send, path: str, base_url: str) -> None:
        sim = self.sim
        faults = sim.config.faults
        sim.in_flight += 1
        try:
            if faults.max_concurrency and sim.in_flight > faults.max_concurrency:
                await _respond(send, 429, ApiError(20429).payload())
                return
            if faults.latency_ms:
                await asyncio.sleep(faults.latency_ms / 1000)
            body = await _read_body(receive)
            dice = sim.random.random() if faults.rate_429 or faults.rate_500 or faults.rate_timeout else 1.0
            if faults.rate_lost_response and sim.random.random() < faults.rate_lost_response:
                await self._handle(scope, path, body, base_url)  # done at "Twilio", but the answer is lost
                await _hang(receive, faults.timeout_hang_s)
                return
            if dice < 1.0:
                if dice < faults.rate_429:
                    await _respond(send, 429, ApiError(20429).payload())
                    return
                if dice < faults.rate_429 + faults.rate_500:
                    await _respond(send, 500, ApiError(20500).payload())
                    return
                if dice < faults.rate_429 + faults.rate_500 + faults.rate_timeout:
                    await _hang(receive, faults.timeout_hang_s)
                    return
            status, payload = await self._handle(scope, path, body, base_url)
            await _respond(send, status, payload)
        finally:
            sim.in_flight -= 1

    async def _handle(self, scope: Scope, path: str, body: bytes, base_url: str) -> Result:
        method = scope["method"]
        matched = None
        path_matched = False
        for candidate in self.routes:
            m = candidate.pattern.match(path)
            if m is not None:
                path_matched = True
                if candidate.method == method:
                    matched = (candidate, m)
                    break
        if matched is None:
            error = ApiError(20404, path=path) if not path_matched else ApiError(20004, status=405)
            return error.status, error.payload()
        candidate, m = matched
        auth = self.sim.store.authenticate(_header(scope, b"authorization"))
        if auth is None:
            return 401, ApiError(20003).payload()
        account, credential = auth
        groups = m.groupdict()
        if candidate.account_in_path and groups.get("account") != account.sid:
            return 401, ApiError(20003).payload()
        form = (
            MultiParams.of(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            if body
            else MultiParams()
        )
        query = MultiParams.of(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        request = RestRequest(method, path, groups, query, form, account, credential, base_url)
        try:
            result = candidate.handler(self.sim, request)
            if not isinstance(result, tuple):
                result = await result
        except ApiError as exc:
            return exc.status, exc.payload()
        return result


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _read_body(receive: Receive) -> bytes:
    message = await receive()
    body: bytes = message.get("body", b"")
    while message.get("more_body"):
        message = await receive()
        body += message.get("body", b"")
    return body


async def _respond(send: Send, status: int, payload: dict[str, Any] | None) -> None:
    body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
    headers = [*JSON_HEADERS, (b"content-length", str(len(body)).encode())] if payload is not None else []
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _hang(receive: Receive, seconds: float) -> None:
    """Say nothing until the client gives up (then uvicorn drops the connection quietly), or `seconds` pass."""
    try:
        async with asyncio.timeout(seconds):
            while (await receive())["type"] != "http.disconnect":
                pass
    except TimeoutError:
        pass
