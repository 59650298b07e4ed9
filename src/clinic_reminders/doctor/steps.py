"""A set-up step's result, as `reminders setup twilio` prints it and the set-up page's API returns it, and what a
step says when Twilio failed: its code, whether trying again helps, and never "bad credentials" for a 5xx."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..gateways import TwilioError

RERUN = "run `reminders setup twilio` again: it continues where it stopped"


@dataclass(frozen=True)
class Step:
    id: str  # credentials, number, webhooks, messaging_service, caller_ids, api_key; registration steps
    status: str  # done (changed something), unchanged, action_needed (a person must act), failed
    message: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "message": self.message, "data": self.data}


def refused_credentials(exc: TwilioError) -> bool:
    return exc.code == 20003 or exc.status == 401


def twilio_failed(step_id: str, exc: TwilioError, doing: str) -> Step:
    """`doing`: what the step was asking Twilio, e.g. "create the Messaging Service"."""
    if exc.is_transient:
        hint = f"Twilio did not manage it this time ({exc.reason}); {RERUN}"
    elif refused_credentials(exc):
        hint = "Twilio refused the Account SID and Auth Token: copy both again from console.twilio.com"
    else:
        hint = f"{exc.reason}; fix that, then {RERUN}"
    code = f"Twilio error {exc.code}" if exc.code else "Twilio"
    status = f", HTTP {exc.status}" if exc.status else ""
    return Step(
        step_id,
        "failed",
        f"could not {doing} ({code}{status}): {hint}",
        {"code": exc.code, "status": exc.status, "retry": exc.is_transient},
    )
