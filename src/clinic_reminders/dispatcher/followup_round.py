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
from ..models import FollowupStatus, NoshowFollowup, RecallText
from ..settings import Settings
from . import followup_sends as sends
from . import outreach
from .offices import OfficeTwilio
from .pacing import Pacer
from .waitlist_round import RunDb, by_office, config_of

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

    async def tick(self, run_db: RunDb, twilio: Callable[[int], OfficeTwilio | None]) -> bool:
        """One round; True when it texted something (the dispatcher does not sleep then). `twilio`: each office's
        account (None for an office that cannot send now: its texts wait)."""
        if time.monotonic() - self._last < EVERY:
            return False
        self._last = time.monotonic()
        starting = time.monotonic() - self._last_started >= START_EVERY
        if starting:
            self._last_started = time.monotonic()

        def config(office_id: int) -> TwilioConfig | None:
            return config_of(twilio(office_id))

        drafts = await run_db(lambda db: self.prepare(db, config, self.clock(), starting=starting))
        for office_id, theirs in by_office(drafts).items():
            account = twilio(office_id)
            assert account is not None  # drafts are made for offices that can send
            await self._send(run_db, account, theirs)
        if time.monotonic() - self._last_settled >= SETTLE_EVERY:
            self._last_settled = time.monotonic()
            await self.settle(run_db, twilio)
        return bool(drafts)

    def prepare(
        self, db: Session, config: Callable[[int], TwilioConfig | None], now: datetime, *, starting: bool = True
    ) -> list[tuple[int, Draft]]:
        """Everything before the texts go, in one transaction: the outbox read, new series, what is due of the
        offices that can send (`config` by office id); each draft with its office's id."""
        drafts: list[tuple[int, Draft]] = []
        for office, row in sends.office_rows(db):
            noshows.read(db, office)
            if starting and row.recall_enabled:
                recall.start(db, office, now)
            theirs = config(office.id)
            if theirs is None:
                continue
            drafts += [(office.id, d) for d in sends.noshow_drafts(db, office, row, theirs, now)]
            drafts += [(office.id, d) for d in sends.recall_drafts(db, office, row, theirs, now)]
        return drafts

    async def settle(self, run_db: RunDb, twilio: Callable[[int], OfficeTwilio | None]) -> None:
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
        for office_id, theirs in by_office([(lookup.office_id, lookup) for lookup in lookups]).items():
            if (account := twilio(office_id)) is None:
                continue  # looked at again once the office can send
            await self._settle(run_db, account, theirs)

    async def _send(self, run_db: RunDb, twilio: OfficeTwilio, drafts: list[Draft]) -> None:
        results = await outreach.send_all(twilio.account.gateway, drafts, self.pacer)
        await run_db(lambda db: _failed(db, outreach.record_all(db, results, self.clock())))

    async def _settle(self, run_db: RunDb, twilio: OfficeTwilio, lookups: list[outreach.Lookup]) -> None:
        found = await outreach.look_up(twilio.account.gateway, lookups)
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
