"""The dashboard's block for the office's own texts beside reminders: broadcasts sent (and the patients they
texted) and after-hours auto-replies sent, in the dashboard's period on its clinic's clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...models import AutoReply, AutoReplyOutcome, Broadcast, BroadcastRecipient, BroadcastStatus, RecipientStatus
from ...scheduling.timing import local_datetime


@dataclass(frozen=True)
class OutreachCounts:
    broadcasts_sent: int
    broadcast_texts: int
    auto_replies: int


def outreach_counts(db: Session, office_id: int, first: date, last: date, zone: str) -> OutreachCounts:
    where = ZoneInfo(zone)
    start, end = local_datetime(first, time(0), where), local_datetime(last + timedelta(days=1), time(0), where)
    sent = (
        (Broadcast.office_id == office_id)
        & (Broadcast.status == BroadcastStatus.SENT)
        & (Broadcast.sent_at >= start)
        & (Broadcast.sent_at < end)
    )
    broadcasts = db.scalar(select(func.count()).select_from(Broadcast).where(sent)) or 0
    texts = db.scalar(
        select(func.count())
        .select_from(BroadcastRecipient)
        .join(Broadcast, Broadcast.id == BroadcastRecipient.broadcast_id)
        .where(sent, BroadcastRecipient.status == RecipientStatus.TEXTED)
    )
    replies = db.scalar(
        select(func.count())
        .select_from(AutoReply)
        .where(
            AutoReply.office_id == office_id,
            AutoReply.outcome == AutoReplyOutcome.REPLIED,
            AutoReply.created_at >= start,
            AutoReply.created_at < end,
        )
    )
    return OutreachCounts(broadcasts, texts or 0, replies or 0)
