"""The inspection API (DESIGN.md contract) under `/simulator/api/`: what the simulator received, and the
phone's side of the conversation (reply to a text, answer a call, press digits), plus reset and faults.

    GET  api/messages                   every message, oldest first (?to=, ?from= narrow it)
    GET  api/calls                      every call with its transcript
    POST api/reply   {"from","to","body"}   a phone texts one of our numbers, delivered as Twilio would
    POST api/call    {"from","to"}          a phone calls one of our numbers (its voice URL)
    POST api/calls/{sid}/answer | digits {"digits"} | hangup
    POST api/reset   [config JSON]     forget everything (optionally start from another configuration)
    POST api/faults  {"latency_ms", "rate_429", ...}   change fault injection on the fly
    POST api/account {"sid"?, "trial", "balance", "status"}   change the account on the fly
    GET  api/config                     the configuration in force
    POST api/webhook {"url", "method"?, "params"?, "account_sid"?}   send a signed webhook now; its answer back
    POST api/alerts  {"error_code", "request_url", "minutes_ago"?, ...}   record a Monitor alert (doctor tests)
    GET  api/registrations              every customer profile, trust product, brand, campaign and toll-free
                                        verification: kind, sid, account_sid, status, errors (?kind= narrows it)
    POST api/registrations/{sid}/approve                          decide its review now: approved
    POST api/registrations/{sid}/reject {"code", "reason", "fields"?, "edit_allowed"?}   or rejected, with
                                        Twilio's error code, its reason and the fields at fault
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .calls import CallStateError, call_summary
from .config import Faults, SimulatorConfig
from .core import Simulator
from .inbound import UnknownNumberError, deliver_inbound_sms
from .inspection_registrations import registration_routes
from .state import AlertRecord, Call, Message, new_sid, now


def message_summary(m: Message) -> dict[str, Any]:
    return {
        "sid": m.sid,
        "account_sid": m.account_sid,
        "to": m.to,
        "from": m.from_,
        "body": m.body,
        "status": m.status,
        "direction": m.direction,
        "created": m.date_created.isoformat(),
        "error_code": m.error_code,
        "num_segments": m.num_segments,
        "status_callback": m.status_callback,
        "validity_period": m.validity_period,
        "messaging_service_sid": m.messaging_service_sid,
        "callbacks": list(m.callbacks),
    }


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _json(request: Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def inspection_routes(sim: Simulator) -> list[Route]:
    async def messages(request: Request) -> JSONResponse:
        to, from_ = request.query_params.get("to"), request.query_params.get("from")
        found = [
            message_summary(m)
            for m in sim.store.messages.values()
            if (to is None or m.to == to) and (from_ is None or m.from_ == from_)
        ]
        return JSONResponse(found)

    async def calls(request: Request) -> JSONResponse:
        return JSONResponse([call_summary(c) for c in sim.store.calls.values()])

    async def reply(request: Request) -> JSONResponse:
        data = await _json(request)
        from_, to, body = data.get("from"), data.get("to"), data.get("body")
        if not isinstance(from_, str) or not isinstance(to, str) or not isinstance(body, str):
            return _error(400, 'send JSON {"from": phone, "to": our number, "body": text}')
        try:
            result = await deliver_inbound_sms(sim, from_, to, body)
        except UnknownNumberError:
            return _error(404, "no simulated account owns the 'to' number")
        return JSONResponse(result)

    async def inbound_call(request: Request) -> JSONResponse:
        data = await _json(request)
        from_, to = data.get("from"), data.get("to")
        number = sim.store.number_anywhere(to) if isinstance(to, str) else None
        if not isinstance(from_, str) or number is None:
            return _error(404, 'send JSON {"from": phone, "to": one of our numbers}')
        moment = now()
        call = Call(
            sid=new_sid("CA"),
            account_sid=number.account_sid,
            to=number.phone_number,
            from_=from_,
            direction="inbound",
            status="ringing",
            date_created=moment,
            date_updated=moment,
            url=number.voice_url,
            method=number.voice_method,
        )
        sim.store.calls[call.sid] = call
        await sim.calls.answer(call.sid)
        return JSONResponse(call_summary(call))

    async def call_action(request: Request) -> JSONResponse:
        sid, action = request.path_params["sid"], request.path_params["action"]
        data = await _json(request)
        try:
            if action == "answer":
                call = await sim.calls.answer(sid, answered_by=str(data.get("answered_by") or "human"))
            elif action == "digits":
                call = await sim.calls.press(sid, str(data.get("digits", "")))
            elif action == "hangup":
                call = await sim.calls.hangup(sid)
            else:
                return _error(404, "unknown call action; use answer, digits or hangup")
        except KeyError:
            return _error(404, "no such call")
        except CallStateError as exc:
            return _error(409, str(exc))
        return JSONResponse(call_summary(call))

    async def reset(request: Request) -> JSONResponse:
        data = await _json(request)
        try:
            config = SimulatorConfig.from_dict(data) if data else None
        except (TypeError, ValueError) as exc:
            return _error(400, str(exc))
        sim.reset(config)
        return JSONResponse({"reset": True})

    async def faults(request: Request) -> JSONResponse:
        data = await _json(request)
        try:
            new = dataclasses.replace(sim.config.faults, **data) if data else Faults()
        except TypeError as exc:
            return _error(400, str(exc))
        sim.config = dataclasses.replace(sim.config, faults=new)
        return JSONResponse(dataclasses.asdict(new))

    async def account(request: Request) -> JSONResponse:
        data = await _json(request)
        sid = data.pop("sid", None) or next(iter(sim.store.accounts))
        target = sim.store.accounts.get(sid)
        if target is None:
            return _error(404, "no such account")
        for name in ("trial", "balance", "status", "friendly_name"):
            if name in data:
                setattr(target, name, type(getattr(target, name))(data[name]))
        return JSONResponse(
            {"sid": target.sid, "type": target.type, "status": target.status, "balance": target.balance}
        )

    async def config(request: Request) -> JSONResponse:
        return JSONResponse(sim.config.to_dict())

    async def webhook(request: Request) -> JSONResponse:
        """What the set-up doctor uses to see whether Twilio could reach the service and sign for it."""
        data = await _json(request)
        url, params = data.get("url"), data.get("params") or {}
        account = sim.store.accounts.get(str(data.get("account_sid") or next(iter(sim.store.accounts), "")))
        if not isinstance(url, str) or not isinstance(params, dict) or account is None:
            return _error(400, 'send JSON {"url": ..., "method": "POST", "params": {...}, "account_sid": ...}')
        pairs = [(str(k), str(v)) for k, v in params.items()]
        result = await sim.webhooks.send(account, url, str(data.get("method") or "POST"), pairs)
        return JSONResponse({"status": result.status, "body": result.body[:2000], "url": result.url})

    async def add_alert(request: Request) -> JSONResponse:
        data = await _json(request)
        account_sid = str(data.get("account_sid") or next(iter(sim.store.accounts), ""))
        if account_sid not in sim.store.accounts or not data.get("error_code"):
            return _error(400, 'send JSON {"error_code": "11200", "request_url": ..., "minutes_ago": 0}')
        alert = AlertRecord(
            new_sid("NO"),
            account_sid,
            str(data["error_code"]),
            str(data.get("log_level") or "error"),
            str(data.get("alert_text") or ""),
            str(data.get("request_method") or "POST"),
            str(data.get("request_url") or ""),
            None,
            date_created=now() - timedelta(minutes=float(data.get("minutes_ago") or 0)),
        )
        sim.store.alerts.append(alert)
        return JSONResponse({"sid": alert.sid})

    return [
        Route("/api/messages", messages, methods=["GET"]),
        Route("/api/calls", calls, methods=["GET"]),
        Route("/api/reply", reply, methods=["POST"]),
        Route("/api/call", inbound_call, methods=["POST"]),
        Route("/api/calls/{sid}/{action}", call_action, methods=["POST"]),
        Route("/api/reset", reset, methods=["POST"]),
        Route("/api/faults", faults, methods=["POST"]),
        Route("/api/account", account, methods=["POST"]),
        Route("/api/config", config, methods=["GET"]),
        Route("/api/webhook", webhook, methods=["POST"]),
        Route("/api/alerts", add_alert, methods=["POST"]),
        *registration_routes(sim),
    ]
