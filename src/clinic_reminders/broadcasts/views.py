"""What staff see of a broadcast: how its recipients fared, and who they are (the staff page)."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ..models import BroadcastRecipient, Message, RecipientStatus


def counts(db: Session, broadcast_id: int) -> dict[str, int]:
    """Recipients by status (every status, 0 included)."""
    rows = db.execute(
        select(BroadcastRecipient.status, func.count())
        .where(BroadcastRecipient.broadcast_id == broadcast_id)
        .group_by(BroadcastRecipient.status)
    )
    found = Counter({str(status): int(n) for status, n in rows})
    return {str(status): found[str(status)] for status in RecipientStatus}


def recipients(db: Session, broadcast_id: int) -> list[tuple[BroadcastRecipient, Message | None]]:
    rows = db.scalars(
        select(BroadcastRecipient)
        .where(BroadcastRecipient.broadcast_id == broadcast_id)
        .options(selectinload(BroadcastRecipient.patient))
        .order_by(BroadcastRecipient.id)
    )
    found = list(rows)
    ids = [r.message_id for r in found if r.message_id is not None]
    messages = {m.id: m for m in db.scalars(select(Message).where(Message.id.in_(ids)))}
    return [(r, messages.get(r.message_id) if r.message_id else None) for r in found]
