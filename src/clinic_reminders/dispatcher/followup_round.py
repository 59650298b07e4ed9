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
from . import followup_sends as sends
from .text_round import TextRound

START_EVERY = 600.0  # seconds between computations of who has come due for recall
SETTLE_WITHIN = timedelta(days=1)  # texts older than this were settled long ago


class FollowupRound(TextRound):
    every = 5.0  # seconds between rounds: follow-ups are due hours after their event, recall days
    _last_started = -START_EVERY

    def prepare(
        self, db: Session, config: Callable[[int], TwilioConfig | None], now: datetime
    ) -> list[tuple[int, Draft]]:
        """Everything before the texts go, in one transaction: the outbox read, new series (every `START_EVERY`),
        what is due of the offices that can send (`config` by office id); each draft with its office's id."""
        starting = time.monotonic() - self._last_started >= START_EVERY
        if starting:
            self._last_started = time.monotonic()
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

    def written(self, db: Session, before: datetime) -> list[int]:
        """Follow-ups and recall texts of the last day whose texts may have been left pending."""
        since = before - SETTLE_WITHIN
        followups = select(NoshowFollowup.message_id).where(
            NoshowFollowup.status == FollowupStatus.SENT, NoshowFollowup.sent_at.between(since, before)
        )
        recalls = select(RecallText.message_id).where(RecallText.created_at.between(since, before))
        return [i for i in (*db.scalars(followups), *db.scalars(recalls)) if i is not None]

    def failed(self, db: Session, message_ids: Sequence[int], now: datetime) -> None:
        """Follow-ups whose text did not go have failed; a recall series simply goes on to its next text."""
        if message_ids:
            db.execute(
                update(NoshowFollowup)
                .where(NoshowFollowup.message_id.in_(message_ids), NoshowFollowup.status == FollowupStatus.SENT)
                .values(status=FollowupStatus.FAILED, reason="the text did not go")
                .execution_options(synchronize_session=False)
            )
