"""The shape of every dispatcher round that texts besides the reminders (waitlist offers, no-show follow-ups and
recall, broadcasts, after-hours replies): write the texts in one transaction, send them through `outreach` with
each office's account at the dispatcher's pace, record Twilio's answers, and now and then settle texts a dead
worker left pending (found at Twilio, or failed: never sent again)."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from sqlalchemy.orm import Session

from ..conversations.staff_sms import Draft
from ..effective import TwilioConfig
from ..settings import Settings
from . import outreach
from .offices import OfficeTwilio
from .pacing import Pacer

T = TypeVar("T")
Item = TypeVar("Item")
SETTLE_EVERY = 30.0


class RunDb(Protocol):
    """The dispatcher's way to run work in one transaction off the event loop (`Worker._db`)."""

    def __call__(self, work: Callable[[Session], T], /) -> Awaitable[T]: ...


class TextRound(ABC):
    every = 1.0  # seconds between rounds: a dispatcher ticks much more often while it is busy

    def __init__(self, settings: Settings, clock: Callable[[], datetime], pacer: Pacer) -> None:
        self.settings = settings
        self.clock = clock
        self.pacer = pacer  # the dispatcher's: these texts and the reminders share each sender's pace
        self._last = -self.every
        self._last_settled = -SETTLE_EVERY

    @abstractmethod
    def prepare(
        self, db: Session, config: Callable[[int], TwilioConfig | None], now: datetime
    ) -> list[tuple[int, Draft]]:
        """The texts due of the offices that can send (`config` by office id), each with its office's id, written
        (flushed) in the round's transaction, committed before they are sent."""

    @abstractmethod
    def written(self, db: Session, before: datetime) -> list[int]:
        """The ids of this kind's messages written before `before` that may still be pending."""

    @abstractmethod
    def failed(self, db: Session, message_ids: Sequence[int], now: datetime) -> None:
        """These messages did not go (Twilio refused them, or they never reached Twilio)."""

    async def tick(self, run_db: RunDb, twilio: Callable[[int], OfficeTwilio | None]) -> bool:
        """One round; True when it texted something (the dispatcher does not sleep then). `twilio`: each office's
        account (None for an office that cannot send now)."""
        if time.monotonic() - self._last < self.every:
            return False
        self._last = time.monotonic()

        def config(office_id: int) -> TwilioConfig | None:
            return config_of(twilio(office_id))

        drafts = await run_db(lambda db: self.prepare(db, config, self.clock()))
        for office_id, theirs in by_office(drafts).items():
            account = twilio(office_id)
            assert account is not None  # drafts are made for offices that can send
            await self._send(run_db, account, theirs)
        if time.monotonic() - self._last_settled >= SETTLE_EVERY:
            self._last_settled = time.monotonic()
            await self.settle(run_db, twilio)
        return bool(drafts)

    def record(self, db: Session, results: Sequence[outreach.Result], now: datetime) -> None:
        """Twilio's answers to the texts just sent."""
        self.failed(db, outreach.record_all(db, results, now), now)

    async def _send(self, run_db: RunDb, twilio: OfficeTwilio, drafts: list[Draft]) -> None:
        results = await outreach.send_all(twilio.account.gateway, drafts, self.pacer)
        await run_db(lambda db: self.record(db, results, self.clock()))

    async def settle(self, run_db: RunDb, twilio: Callable[[int], OfficeTwilio | None]) -> None:
        before = self.clock() - outreach.left_behind_after(self.settings)
        lookups = await run_db(lambda db: outreach.left_pending(db, self.written(db, before), before))
        for office_id, theirs in by_office([(lookup.office_id, lookup) for lookup in lookups]).items():
            if (account := twilio(office_id)) is not None:  # else looked at again once the office can send
                await self._settle(run_db, account, theirs)

    async def _settle(self, run_db: RunDb, twilio: OfficeTwilio, lookups: list[outreach.Lookup]) -> None:
        found = await outreach.look_up(twilio.account.gateway, lookups)
        now = self.clock()
        await run_db(lambda db: self.failed(db, outreach.settle(db, lookups, found, now), now))


def config_of(twilio: OfficeTwilio | None) -> TwilioConfig | None:
    return twilio.config if twilio is not None else None


def by_office(items: Sequence[tuple[int, Item]]) -> dict[int, list[Item]]:
    grouped: dict[int, list[Item]] = defaultdict(list)
    for office_id, item in items:
        grouped[office_id].append(item)
    return grouped
