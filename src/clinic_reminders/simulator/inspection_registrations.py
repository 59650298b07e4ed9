"""The inspection API's view of carrier registrations (see inspection.py for the routes): list them, and decide
a review now instead of waiting for `review_delay_s` (or when `reviews_approve` is off)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .core import Simulator
from .registry import Brand, Bundle, Campaign, Registration, Rejection, TollfreeVerification

REJECT_HELP = 'send JSON {"code": 30886, "reason": "...", "fields": ["USE_CASE_DESCRIPTION"], "edit_allowed": true}'


def registration_summary(r: Registration) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "kind": r.KIND,
        "sid": r.sid,
        "account_sid": r.account_sid,
        "status": r.status,
        "updated": r.date_updated.isoformat(),
    }
    if isinstance(r, Bundle):
        summary.update(friendly_name=r.friendly_name, policy_sid=r.policy_sid, errors=r.errors or [])
    elif isinstance(r, Brand | Campaign):
        summary["errors"] = list(r.errors)
        if isinstance(r, Campaign):
            summary["messaging_service_sid"] = r.messaging_service_sid
    elif isinstance(r, TollfreeVerification):
        summary.update(
            tollfree_phone_number=r.tollfree_phone_number,
            errors=r.rejection_reasons or [],
            edit_allowed=r.edit_allowed,
        )
    return summary


def _rejection(data: Any) -> Rejection | None:
    if not isinstance(data, dict):
        return None
    code, reason, fields = data.get("code"), data.get("reason"), data.get("fields", [])
    edit_allowed = data.get("edit_allowed", True)
    if not isinstance(code, int) or not isinstance(reason, str) or not reason.strip():
        return None
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        return None
    if not isinstance(edit_allowed, bool):
        return None
    return Rejection(code, reason, tuple(fields), edit_allowed)


def registration_routes(sim: Simulator) -> list[Route]:
    async def registrations(request: Request) -> JSONResponse:
        kind = request.query_params.get("kind")
        found = [
            registration_summary(r)
            for registry in sim.registry.accounts.values()
            for r in registry.registrations()
            if kind in (None, r.KIND)
        ]
        return JSONResponse(found)

    async def decide(request: Request) -> JSONResponse:
        registration = sim.registry.find(request.path_params["sid"])
        decision = request.path_params["decision"]
        if registration is None or decision not in ("approve", "reject"):
            return JSONResponse({"error": "no such registration, or not approve/reject"}, status_code=404)
        if decision == "approve":
            registration.approve()
        else:
            try:
                data = await request.json()
            except ValueError:
                data = None
            rejection = _rejection(data)
            if rejection is None:
                return JSONResponse({"error": REJECT_HELP}, status_code=400)
            registration.reject(rejection)
        return JSONResponse(registration_summary(registration))

    return [
        Route("/api/registrations", registrations, methods=["GET"]),
        Route("/api/registrations/{sid}/{decision}", decide, methods=["POST"]),
    ]
