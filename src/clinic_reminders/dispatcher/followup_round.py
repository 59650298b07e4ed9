"""No-show follow-ups and recall, as part of each dispatcher round (`dispatcher.worker.Worker.tick`): read the
outbox for no-shows, start the recall series that have come due (every `START_EVERY`), text what is due, and
settle texts a dead worker left behind.

Texts go through `dispatcher.outreach` with the worker's own gateway and pace, as waitlist offers do: the claim
and the message row are committed before Twilio is called, Twilio's answer is recorded after, and a text is never
sent twice. A follow-up whose text Twilio refused, or that never reached it, has failed and is not tried again; a
recall series goes on to its next text.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..conversations.staff_sms import Draft
from ..effective import TwilioConfig
from ..followup import noshows, recall
from ..gateways.dispatching import DispatchGateway
from ..models import FollowupStatus, NoshowFollowup, RecallText
from ..settings import Settings
from . import followup_sends as sends
from . import outreach
from .pacing import Pacer
from .waitlist_round import RunDb

EVERY = 5.0  # seconds between rounds: follow-ups are due hours after their event, recall days
START_EVERY = 600.0  # seconds between computations of who has come due for recall
SETTLE_EVERY = 30.0
SETTLE_WITHIN = timedelta(days=1)  # texts older than this were settled long ago


class FollowupRound:
    def __init__(self, settings: Settings, clock: Callable[[], datetime], pacer: Pacer) -> None:
        self.settings = settings
        self.clock = clock
        self.pacer = pacer  # the dispatcher's: these texts and reminders share each sender's pace
        self._last = -EVERY
        self._last_started = -START_EVERY
        self._last_settled = -SETTLE_EVERY

    async def tick(self, run_db: RunDb, gateway: DispatchGateway, config: TwilioConfig) -> bool:
        """One round; True when it texted something (the dispatcher does not sleep then)."""
        if time.monotonic() - self._last < EVERY:
            return False
        self._last = time.monotonic()
        starting = time.monotonic() - self._last_started >= START_EVERY
        if starting:
            self._last_started = time.monotonic()
        drafts = await run_db(lambda db: self.prepare(db, config, self.clock(), starting=starting))
        if drafts:
            results = await outreach.send_all(gateway, drafts, self.pacer)
            await run_db(lambda db: _failed(db, outreach.record_all(db, results, self.clock())))
        if time.monotonic() - self._last_settled >= SETTLE_EVERY:
            self._last_settled = time.monotonic()
            await self.settle(run_db, gateway)
        return bool(drafts)

    def prepare(self, db: Session, config: TwilioConfig, now: datetime, *, starting: bool = True) -> list[Draft]:
        """Everything before the texts go, in one transaction: the outbox read, new series, what is due."""
        drafts: list[Draft] = []
        for office, row in sends.office_rows(db):
            noshows.read(db, office)
            if starting and row.recall_enabled:
                recall.start(db, office, now)
            drafts += sends.noshow_drafts(db, office, row, config, now)
            drafts += sends.recall_drafts(db, office, row, config, now)
        return drafts

    async def settle(self, run_db: RunDb, gateway: DispatchGateway) -> None:
        """Texts left pending: found at Twilio, or cancelled as never sent (and never sent again)."""
        before = self.clock() - outreach.left_behind_after(self.settings)
        since = before - SETTLE_WITHIN

        def find(db: Session) -> list[outreach.Lookup]:
            followups = select(NoshowFollowup.message_id).where(
                NoshowFollowup.status == FollowupStatus.SENT, NoshowFollowup.sent_at.between(since, before)
            )
            recalls = select(RecallText.message_id).where(RecallText.created_at.between(since, before))
            ids = [i for i in (*db.scalars(followups), *db.scalars(recalls)) if i is not None]
            return outreach.left_pending(db, ids, before)

        lookups = await run_db(find)
        if not lookups:
            return
        found = await outreach.look_up(gateway, lookups)
        await run_db(lambda db: _failed(db, outreach.settle(db, lookups, found, self.clock())))


def _failed(db: Session, message_ids: Sequence[int]) -> None:
    """Follow-ups whose text did not go have failed; a recall series simply goes on to its next text."""
    if message_ids:
        db.execute(
            update(NoshowFollowup)
            .where(NoshowFollowup.message_id.in_(message_ids), NoshowFollowup.status == FollowupStatus.SENT)
            .values(status=FollowupStatus.FAILED, reason="the text did not go")
            .execution_options(synchronize_session=False)
        )
