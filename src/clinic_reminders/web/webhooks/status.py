"""`/twilio/status`: message and call status callbacks (see conversations.delivery)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ...conversations import delivery
from ...db import transaction
from ...models import utcnow
from .signed import TwilioRequest, verified

router = APIRouter(include_in_schema=False)


@router.post("/twilio/status")
async def twilio_status(request: Request, twilio: TwilioRequest = Depends(verified)) -> Response:
    sessions = request.app.state.sessions

    def work() -> None:
        with transaction(sessions) as db:
            delivery.handle(db, twilio.params, utcnow())

    await run_in_threadpool(work)
    return Response(status_code=204)
