"""The shape of a dispatcher round that texts what the office starts itself (broadcasts, after-hours replies):
write the texts in one transaction, send them through `outreach` at the dispatcher's pace, record Twilio's answers,
and now and then settle texts a dead worker left pending (found at Twilio, or failed: never sent again)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from ..conversations.staff_sms import Draft
from ..effective import TwilioConfig
from ..gateways.dispatching import DispatchGateway
from ..settings import Settings
from . import outreach
from .pacing import Pacer
from .waitlist_round import RunDb

EVERY = 1.0  # seconds between rounds
SETTLE_EVERY = 30.0


class TextRound:
    def __init__(self, settings: Settings, clock: Callable[[], datetime], pacer: Pacer) -> None:
        self.settings = settings
        self.clock = clock
        self.pacer = pacer  # the dispatcher's: these texts and the reminders share each sender's pace
        self._last = -EVERY
        self._last_settled = -SETTLE_EVERY

    def prepare(self, db: Session, config: TwilioConfig, now: datetime) -> list[Draft]:
        """The texts due, written (flushed) in the round's transaction, committed before they are sent."""
        raise NotImplementedError

    def written(self, db: Session, before: datetime) -> list[int]:
        """The ids of this kind's messages written before `before` that may still be pending."""
        raise NotImplementedError

    def failed(self, db: Session, message_ids: Sequence[int], now: datetime) -> None:
        """These messages did not go (Twilio refused them, or they never reached Twilio)."""
        raise NotImplementedError

    async def tick(self, run_db: RunDb, gateway: DispatchGateway, config: TwilioConfig) -> bool:
        """One round; True when it texted something (the dispatcher does not sleep then)."""
        if time.monotonic() - self._last < EVERY:
            return False
        self._last = time.monotonic()
        drafts = await run_db(lambda db: self.prepare(db, config, self.clock()))
        if drafts:
            results = await outreach.send_all(gateway, drafts, self.pacer)
            await run_db(lambda db: self.failed(db, outreach.record_all(db, results, self.clock()), self.clock()))
        if time.monotonic() - self._last_settled >= SETTLE_EVERY:
            self._last_settled = time.monotonic()
            await self.settle(run_db, gateway)
        return bool(drafts)

    async def settle(self, run_db: RunDb, gateway: DispatchGateway) -> None:
        before = self.clock() - outreach.left_behind_after(self.settings)
        lookups = await run_db(lambda db: outreach.left_pending(db, self.written(db, before), before))
        if not lookups:
            return
        found = await outreach.look_up(gateway, lookups)
        now = self.clock()
        await run_db(lambda db: self.failed(db, outreach.settle(db, lookups, found, now), now))
