"""Broadcasts ("the office is closed on Friday"): preview who would be texted and what it costs, then send with the
preview's token (sent once however often it is submitted); list and show them. The dispatcher sends the texts."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...broadcasts import affected, confirm, views
from ...effective import twilio_config
from ...models import Broadcast, BroadcastStatus
from ..deps import CurrentUser, DbDep, OfficeDep, SettingsDep, audit_actor, utcnow
from .errors import CONFLICT, NOT_FOUND
from .lookups import get_or_404
from .pagination import Page, PageDep, paginate
from .schemas.broadcasts import BroadcastAsk, BroadcastCreate, BroadcastPreview, BroadcastRead
from .schemas.common import RowId

router = APIRouter(prefix="/broadcasts", tags=["broadcasts"])


def read(db: Session, broadcast: Broadcast) -> BroadcastRead:
    values = {k: getattr(broadcast, k) for k in BroadcastRead.model_fields if k != "recipients"}
    return BroadcastRead.model_validate({**values, "recipients": views.counts(db, broadcast.id)})


@router.post("/preview", summary="Preview a broadcast", description="Changes nothing.")
def preview_broadcast(body: BroadcastAsk, db: DbDep, office: OfficeDep, settings: SettingsDep) -> BroadcastPreview:
    found = affected.preview(db, office, twilio_config(settings, office), body.to_ask(), utcnow())
    return BroadcastPreview.model_validate(vars(found))


@router.post(
    "",
    status_code=201,
    responses={**CONFLICT, 200: {"description": "The token's broadcast was made before: nothing changed."}},
    summary="Send a broadcast",
    description="Flags the visits to reschedule (their reminders stop), and the dispatcher texts each patient once.",
)
def create_broadcast(
    body: BroadcastCreate, response: Response, db: DbDep, office: OfficeDep, user: CurrentUser, settings: SettingsDep
) -> BroadcastRead:
    config = twilio_config(settings, office)
    try:
        broadcast, made = confirm.confirm(db, office, config, body.to_ask(), body.token, audit_actor(user), utcnow())
        db.commit()
    except IntegrityError:  # the same token confirmed at the same instant: that one's broadcast stands
        db.rollback()
        found = confirm.by_token(db, office.id, body.token)
        if found is None:
            raise
        broadcast, made = found, False
    if not made:
        response.status_code = 200
    return read(db, broadcast)


@router.get("", summary="List broadcasts", description="Newest first.")
def list_broadcasts(
    db: DbDep, office: OfficeDep, page: PageDep, status: BroadcastStatus | None = None
) -> Page[BroadcastRead]:
    stmt = select(Broadcast).where(Broadcast.office_id == office.id)
    if status is not None:
        stmt = stmt.where(Broadcast.status == status)
    return paginate(db, stmt.order_by(Broadcast.id.desc()), page, lambda b: read(db, b))


@router.get("/{broadcast_id}", responses=NOT_FOUND, summary="One broadcast")
def get_broadcast(broadcast_id: RowId, db: DbDep, office: OfficeDep) -> BroadcastRead:
    return read(db, get_or_404(db, Broadcast, broadcast_id, office, "broadcast"))
