"""`/twilio/status`: message and call status callbacks (see conversations.delivery)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from ...conversations import delivery, inbound_sms
from ...models import utcnow
from .database import in_transaction
from .signed import TwilioRequest, verified

router = APIRouter(include_in_schema=False)


@router.post("/twilio/status")
async def twilio_status(request: Request, twilio: TwilioRequest = Depends(verified)) -> Response:
    def work(db: Session) -> None:
        if "reply" in twilio.query:  # an automatic reply's first news: its SID (see inbound_sms.handle)
            inbound_sms.adopt_reply(db, twilio.query["reply"], twilio.params.get("MessageSid", ""))
        delivery.handle(db, twilio.params, utcnow())

    await in_transaction(request, work)
    return Response(status_code=204)
