"""`/twilio/status`: message and call status callbacks (see conversations.delivery)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ...conversations import delivery
from ...models import utcnow
from .database import in_transaction
from .signed import TwilioRequest, verified

router = APIRouter(include_in_schema=False)


@router.post("/twilio/status")
async def twilio_status(request: Request, twilio: TwilioRequest = Depends(verified)) -> Response:
    await in_transaction(request, lambda db: delivery.handle(db, twilio.params, utcnow()))
    return Response(status_code=204)
