"""The waitlist's part of each dispatcher round (`dispatcher.worker.Worker.tick`): read the outbox, close what
is over, offer the waves that are due, and settle offers whose texts a dead worker left behind.

Offers are texted as every `text_round.TextRound` texts: the message rows are committed before Twilio is called,
Twilio's answers recorded after, and a text is never sent twice. An offer whose text Twilio refused, or that never
reached it, has failed; its patient is not offered that slot again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..conversations.staff_sms import Draft
from ..effective import TwilioConfig
from ..models import OfferStatus, Office, SlotStatus, WaitlistOffer, WaitlistSettings, WaitlistSlot
from ..waitlist import freed
from . import waitlist_waves as waves
from .text_round import TextRound


class OfferRound(TextRound):
    def prepare(
        self, db: Session, config: Callable[[int], TwilioConfig | None], now: datetime
    ) -> list[tuple[int, Draft]]:
        """Everything before the texts go, in one transaction: the outbox read, expiries, the due waves of the
        offices that can send (`config` by office id); each draft with its office's id."""
        offices = list(db.scalars(select(Office).join(WaitlistSettings, WaitlistSettings.office_id == Office.id)))
        for office in offices:
            freed.read(db, office, now)
        expire(db, now)
        by_office = {office.id: office for office in offices}
        drafts: list[tuple[int, Draft]] = []
        for slot_id in waves.due(db, now):
            slot = db.get(WaitlistSlot, slot_id)
            assert slot is not None
            row = db.get(WaitlistSettings, slot.office_id)
            theirs = config(slot.office_id)
            if row is None or not row.enabled or theirs is None:
                continue
            if waves.claim(db, slot_id, now, row.wave_minutes):
                drafts += [
                    (slot.office_id, d) for d in waves.prepare(db, by_office[slot.office_id], row, theirs, slot, now)
                ]
        return drafts

    def written(self, db: Session, before: datetime) -> list[int]:
        """Offers still open whose texts may have been left pending."""
        ids = db.scalars(
            select(WaitlistOffer.message_id).where(
                WaitlistOffer.status == OfferStatus.OPEN,
                WaitlistOffer.message_id.is_not(None),
                WaitlistOffer.created_at < before,
            )
        )
        return [i for i in ids if i is not None]

    def failed(self, db: Session, message_ids: Sequence[int], now: datetime) -> None:
        """An offer whose text did not go has failed: its patient is not offered that slot again."""
        if message_ids:
            db.execute(
                update(WaitlistOffer)
                .where(WaitlistOffer.message_id.in_(message_ids), WaitlistOffer.status == OfferStatus.OPEN)
                .values(status=OfferStatus.FAILED)
                .execution_options(synchronize_session=False)
            )


def expire(db: Session, now: datetime) -> None:
    """Offers past their time expire; slots past their cut-off close unfilled."""
    db.execute(
        update(WaitlistOffer)
        .where(WaitlistOffer.status == OfferStatus.OPEN, WaitlistOffer.expires_at <= now)
        .values(status=OfferStatus.EXPIRED)
        .execution_options(synchronize_session=False)
    )
    over = db.scalars(select(WaitlistSlot).where(WaitlistSlot.status == SlotStatus.OPEN, WaitlistSlot.closes_at <= now))
    for slot in over:
        freed.close(db, slot, SlotStatus.EXPIRED, "its cut-off passed with no taker", now)
