"""`/twilio/doctor-ping`: where the set-up doctor has the simulator send a signed test webhook.

The answer says whether the signature validated (200) or not (403, from `verified`), and the last receipts are
kept in memory for the set-up page. The router also carries the balance and certificate watch's lifespan, so
registering it is the one line the app factory needs.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from ...doctor.alerts import watch_lifespan
from .signed import verified

PATH = "/twilio/doctor-ping"


@dataclass(frozen=True)
class Receipt:
    at: datetime
    valid: bool
    check: str


RECEIPTS: deque[Receipt] = deque(maxlen=20)

router = APIRouter(lifespan=watch_lifespan)


@router.api_route(PATH, methods=["GET", "POST"], include_in_schema=False)
async def doctor_ping(request: Request) -> JSONResponse:
    check = request.query_params.get("check", "")[:32]
    try:
        await verified(request)
    except HTTPException:
        RECEIPTS.append(Receipt(datetime.now(UTC), False, check))
        raise
    RECEIPTS.append(Receipt(datetime.now(UTC), True, check))
    return JSONResponse({"received": True, "valid": True, "check": check})


def last_receipt() -> Receipt | None:
    return RECEIPTS[-1] if RECEIPTS else None
