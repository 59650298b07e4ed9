"""The outbox of changes (events.py), read page by page after a cursor: what write-back and live pages consume."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ... import events
from ..deps import DbDep, OfficeDep
from .pagination import DEFAULT_LIMIT, MAX_LIMIT
from .schemas.events import EventPage, EventRead

# The largest event id there can be (64-bit ids): a larger cursor is malformed, not "nothing after it".
EVENT_ID_MAX = 2**63 - 1

router = APIRouter(tags=["events"])


@router.get(
    "/events",
    summary="Changes in your office, oldest first, after a cursor",
    description="One event for every appointment created, moved or changing status, every reminder that changed "
    "status (sent, failed, skipped, planned again...), every answer a patient gave, every opt-out and opt-in, and "
    "every delivery outcome Twilio reported, each written in the same transaction as the change. Start with "
    "`after=0`, then pass the page's `after` to read on; `more` says whether another page is ready now. The "
    "payload never holds a patient's name, number or message text: fetch the row by its id when you need it.",
)
def list_events(
    db: DbDep,
    office: OfficeDep,
    after: Annotated[
        int, Query(ge=0, le=EVENT_ID_MAX, description="The id of the last event read; 0 to start at the first.")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Events per page.")] = DEFAULT_LIMIT,
) -> EventPage:
    rows = events.page(db, office.id, after, limit + 1)
    items = [EventRead.model_validate(row) for row in rows[:limit]]
    return EventPage(items=items, after=items[-1].id if items else after, more=len(rows) > limit)
