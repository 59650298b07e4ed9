"""Paused write-back destinations, as the running service's watch tells staff and admins (doctor/alerts.py).

The engine pauses a destination whose deliveries failed for the whole retry window, or that refused one for good
(writeback/outcomes.py); the watch then shows a banner for each and alerts the admins through the alert channels,
once a day per destination while the pause lasts. Destination names and reasons are office configuration and
status codes, never patient data.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from ..models import Destination
from .checks import Banner
from .context import DoctorContext

log = logging.getLogger(__name__)


def paused_banners(ctx: DoctorContext) -> list[Banner]:
    if ctx.sessions is None or ctx.office.id is None:
        return []
    query = (
        select(Destination.id, Destination.name, Destination.paused_reason)
        .where(Destination.office_id == ctx.office.id, Destination.paused_at.is_not(None), Destination.enabled)
        .order_by(Destination.id)
    )
    try:
        with ctx.sessions() as db:
            rows = db.execute(query).all()
    except SQLAlchemyError as exc:
        log.info("write-back watch: %s", type(exc).__name__)
        return []
    return [
        Banner(
            f"writeback.paused.{destination_id}",
            "danger",
            f"Write-back to “{name}” is paused: {reason or 'its deliveries failed'}. Answers are not reaching the "
            "practice-management system: fix the destination, then resume it on the Write-back page.",
        )
        for destination_id, name, reason in rows
    ]
