"""`/app_confirm`: the URL the seed gives Twilio for the number's messages (GET) and calls, and Gather actions."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from ...conversations import delivery, inbound_sms, voice_calls
from ...models import utcnow
from .database import in_transaction
from .signed import TwilioRequest, verified

router = APIRouter(include_in_schema=False)


@router.api_route("/app_confirm", methods=["GET", "POST"])
async def app_confirm(request: Request, twilio: TwilioRequest = Depends(verified)) -> Response:
    is_voice = "CallSid" in twilio.params and "MessageSid" not in twilio.params

    def work(db: Session) -> str:
        if is_voice:
            assert twilio.config.public_url is not None  # signature validation needed it
            return voice_calls.handle(
                db, twilio.office_id, twilio.params, twilio.query, twilio.config.public_url, utcnow()
            )
        return inbound_sms.handle(
            db, twilio.office_id, twilio.params, utcnow(), twilio.config.url(delivery.STATUS_PATH)
        )

    return Response(content=await in_transaction(request, work), media_type="text/xml")
