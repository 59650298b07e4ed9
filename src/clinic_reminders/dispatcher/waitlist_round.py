"""The waitlist's part of each dispatcher round (`dispatcher.worker.Worker.tick`): read the outbox, close what
is over, offer the waves that are due, and settle offers whose texts a dead worker left behind.

Offers are texted through `dispatcher.outreach` with the worker's gateway of each office's account: the message rows are
committed before Twilio is called, Twilio's answers recorded after, and a text is never sent twice. An offer
whose text Twilio refused, or that never reached it, has failed; its patient is not offered that slot again.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..conversations.staff_sms import Draft
from ..effective import TwilioConfig
from ..models import OfferStatus, Office, SlotStatus, WaitlistOffer, WaitlistSettings, WaitlistSlot
from ..settings import Settings
from ..waitlist import freed
from . import outreach
from . import waitlist_waves as waves
from .offices import OfficeTwilio
from .pacing import Pacer

T = TypeVar("T")
Item = TypeVar("Item")


class RunDb(Protocol):
    """The dispatcher's way to run work in one transaction off the event loop (`Worker._db`)."""

    def __call__(self, work: Callable[[Session], T], /) -> Awaitable[T]: ...


EVERY = 1.0  # seconds between rounds: a dispatcher ticks much more often while it is busy
SETTLE_EVERY = 30.0


class OfferRound:
    def __init__(self, settings: Settings, clock: Callable[[], datetime], pacer: Pacer) -> None:
        self.settings = settings
        self.clock = clock
        self.pacer = pacer  # the dispatcher's: offers and reminders share each sender's pace
        self._last = -EVERY
        self._last_settled = -SETTLE_EVERY

    async def tick(self, run_db: RunDb, twilio: Callable[[int], OfficeTwilio | None]) -> bool:
        """One round; True when it offered something (the dispatcher does not sleep then). `twilio`: each office's
        account (None for an office that cannot send now: its waves wait)."""
        if time.monotonic() - self._last < EVERY:
            return False
        self._last = time.monotonic()
        drafts = await run_db(lambda db: self.prepare(db, lambda office_id: config_of(twilio(office_id)), self.clock()))
        for office_id, theirs in by_office(drafts).items():
            await self._send(run_db, twilio(office_id), theirs)
        if time.monotonic() - self._last_settled >= SETTLE_EVERY:
            self._last_settled = time.monotonic()
            await self.settle(run_db, twilio)
        return bool(drafts)

    async def _send(self, run_db: RunDb, twilio: OfficeTwilio | None, drafts: list[Draft]) -> None:
        assert twilio is not None  # drafts are made for offices that can send
        results = await outreach.send_all(twilio.account.gateway, drafts, self.pacer)
        await run_db(lambda db: self.record(db, results, self.clock()))

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

    def record(self, db: Session, results: Sequence[outreach.Result], now: datetime) -> None:
        _failed(db, outreach.record_all(db, results, now))

    async def settle(self, run_db: RunDb, twilio: Callable[[int], OfficeTwilio | None]) -> None:
        """Offers still open whose texts were left pending: found at Twilio, or failed (never sent again)."""
        before = self.clock() - outreach.left_behind_after(self.settings)

        def find(db: Session) -> list[outreach.Lookup]:
            ids = db.scalars(
                select(WaitlistOffer.message_id).where(
                    WaitlistOffer.status == OfferStatus.OPEN,
                    WaitlistOffer.message_id.is_not(None),
                    WaitlistOffer.created_at < before,
                )
            )
            return outreach.left_pending(db, [i for i in ids if i is not None], before)

        lookups = await run_db(find)
        for office_id, theirs in by_office([(lookup.office_id, lookup) for lookup in lookups]).items():
            if (account := twilio(office_id)) is not None:  # else looked at again once the office can send
                await self._settle(run_db, account, theirs)

    async def _settle(self, run_db: RunDb, twilio: OfficeTwilio, lookups: list[outreach.Lookup]) -> None:
        found = await outreach.look_up(twilio.account.gateway, lookups)
        await run_db(lambda db: _failed(db, outreach.settle(db, lookups, found, self.clock())))


def config_of(twilio: OfficeTwilio | None) -> TwilioConfig | None:
    return twilio.config if twilio is not None else None


def by_office(items: Sequence[tuple[int, Item]]) -> dict[int, list[Item]]:
    grouped: dict[int, list[Item]] = defaultdict(list)
    for office_id, item in items:
        grouped[office_id].append(item)
    return grouped


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


def _failed(db: Session, message_ids: Sequence[int]) -> None:
    if message_ids:
        db.execute(
            update(WaitlistOffer)
            .where(WaitlistOffer.message_id.in_(message_ids), WaitlistOffer.status == OfferStatus.OPEN)
            .values(status=OfferStatus.FAILED)
            .execution_options(synchronize_session=False)
        )
