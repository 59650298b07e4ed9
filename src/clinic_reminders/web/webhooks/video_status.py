"""`/twilio/video-status`: Twilio Video's room and participant status callbacks (see telehealth.callbacks).

Signed like every webhook (`signed.verified`: 403 and nothing recorded on a missing or wrong signature).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Request, Response

from ...telehealth import callbacks
from .database import in_transaction
from .signed import TwilioRequest, verified

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


@router.post("/twilio/video-status")
async def video_status(request: Request, twilio: TwilioRequest = Depends(verified)) -> Response:
    event = await in_transaction(request, lambda db: callbacks.record(db, twilio.office_id, twilio.params).event)
    log.info("video status callback: %s", event)
    return Response(status_code=204)
