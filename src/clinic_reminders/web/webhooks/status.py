"""`/twilio/status`: message and call status callbacks (see conversations.delivery)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from ...conversations import delivery
from ...models import utcnow
from .database import in_transaction
from .signed import TwilioRequest, verified

router = APIRouter(include_in_schema=False)


@router.post(delivery.STATUS_PATH)
async def twilio_status(request: Request, twilio: TwilioRequest = Depends(verified)) -> Response:
    # `reply`: what automatic replies' URLs named their row with before `m` (callbacks still on their way).
    named = twilio.query.get(delivery.NAMED) or twilio.query.get("reply")

    def work(db: Session) -> None:
        delivery.handle(db, twilio.office_id, twilio.params, utcnow(), named)

    await in_transaction(request, work)
    return Response(status_code=204)
