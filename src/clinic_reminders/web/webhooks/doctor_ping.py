"""`/twilio/doctor-ping`: where the set-up doctor has the simulator send a signed test webhook.

The answer says whether the signature validated (200) or not (403, from `verified`), and the last one received
is an office mark (`office_marks`), so that the set-up page of any replica shows it. The router also carries the
balance and certificate watch's lifespan, so registering it is the one line the app factory needs.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from ... import office_marks
from ...doctor.alerts import watch_lifespan
from ...models import OfficeMark, utcnow
from .database import in_transaction
from .signed import office_of, verified

PATH = "/twilio/doctor-ping"
RECEIVED = "doctor-ping"  # the office mark of the last one received: `detail` "valid" or "invalid"

router = APIRouter(lifespan=watch_lifespan)


@router.api_route(PATH, methods=["GET", "POST"], include_in_schema=False)
async def doctor_ping(request: Request) -> JSONResponse:
    check = request.query_params.get("check", "")[:32]
    try:
        twilio = await verified(request)
    except HTTPException:
        if (office_id := await office_of(request)) is not None:
            await _received(request, office_id, valid=False)
        raise
    await _received(request, twilio.office_id, valid=True)
    return JSONResponse({"received": True, "valid": True, "check": check})


async def _received(request: Request, office_id: int, valid: bool) -> None:
    at, detail = utcnow(), "valid" if valid else "invalid"
    await in_transaction(request, lambda db: office_marks.note(db, office_id, RECEIVED, at, detail))


def last_receipt(db: Session, office_id: int) -> OfficeMark | None:
    """The office's last doctor ping, whichever replica received it."""
    return office_marks.read(db, office_id, RECEIVED)
