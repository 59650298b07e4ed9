"""The broadcasts' part of each dispatcher round: text the recipients that are due, each once.

Recipients are claimed by one conditional UPDATE (waiting -> texted), so two dispatchers never text the same one;
the claim and the message row commit together before Twilio is called. At send time the patient is asked again
(consent, opt-out, a number that takes texts, the sender's carrier registration), and one outside the allowed
hours in their zone waits for them. A broadcast is sent once none of its recipients wait.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from ..broadcasts.texts import body
from ..conversations.staff_sms import Draft
from ..effective import TwilioConfig
from ..models import (
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
    Message,
    MessageStatus,
    Office,
    Patient,
    RecipientStatus,
)
from ..planning import patient_zone, window_of
from ..scheduling.timing import next_allowed
from . import outreach
from .text_round import TextRound

PER_ROUND = 50  # texts written per round; the pacer spreads them over the sender's rate

_R = BroadcastRecipient


class BroadcastRound(TextRound):
    def prepare(
        self, db: Session, config: Callable[[int], TwilioConfig | None], now: datetime
    ) -> list[tuple[int, Draft]]:
        due = select(_R.id, _R.office_id).where(_R.status == RecipientStatus.WAITING, _R.due_at <= now)
        rows = db.execute(due.order_by(_R.due_at, _R.id).limit(PER_ROUND)).all()
        ids = [row_id for row_id, office_id in rows if config(office_id) is not None]  # others wait for theirs
        if not ids:
            return []
        claimed = list(
            db.scalars(
                update(_R)
                .where(_R.id.in_(ids), _R.status == RecipientStatus.WAITING)
                .values(status=RecipientStatus.TEXTED, updated_at=now)
                .returning(_R.id)
                .execution_options(synchronize_session=False)
            )
        )
        recipients = db.scalars(
            select(_R)
            .where(_R.id.in_(claimed))
            .options(selectinload(_R.broadcast).selectinload(Broadcast.clinic))
            .options(selectinload(_R.patient).selectinload(Patient.phones))
            .execution_options(populate_existing=True)
        )
        drafts: list[tuple[int, Draft]] = []
        senders: dict[int, outreach.Sender | str] = {}
        for recipient in recipients:
            broadcast, patient = recipient.broadcast, recipient.patient
            office = db.get(Office, broadcast.office_id)
            assert office is not None
            clinic = broadcast.clinic
            theirs = config(office.id)
            assert theirs is not None  # claimed only for offices that can send
            if clinic.id not in senders:
                senders[clinic.id] = outreach.sender(db, office, theirs, clinic)
            sender = senders[clinic.id]
            reach = outreach.reachable(patient, sender) if isinstance(sender, outreach.Sender) else sender
            if isinstance(reach, str):
                recipient.status, recipient.reason = RecipientStatus.SKIPPED, reach
                continue
            allowed = next_allowed(now, patient_zone(patient, clinic), window_of(office))
            if allowed > now:
                recipient.status, recipient.due_at = RecipientStatus.WAITING, allowed
                continue
            text = body(broadcast.texts, patient.language, clinic.name)
            draft = outreach.write(db, office, theirs, patient, reach, text)
            recipient.message_id = draft.message_id
            drafts.append((office.id, draft))
        db.flush()
        _finish(db, set(db.scalars(select(_R.broadcast_id).where(_R.id.in_(claimed)))), now)
        return drafts

    def written(self, db: Session, before: datetime) -> list[int]:
        ids = db.scalars(
            select(_R.message_id)
            .join(Message, Message.id == _R.message_id)
            .where(_R.status == RecipientStatus.TEXTED, Message.status == MessageStatus.PENDING)
        )
        return [i for i in ids if i is not None]

    def failed(self, db: Session, message_ids: Sequence[int], now: datetime) -> None:
        if message_ids:
            db.execute(
                update(_R)
                .where(_R.message_id.in_(message_ids), _R.status == RecipientStatus.TEXTED)
                .values(status=RecipientStatus.FAILED, reason="the text did not go", updated_at=now)
                .execution_options(synchronize_session=False)
            )


def _finish(db: Session, broadcast_ids: set[int], now: datetime) -> None:
    """Broadcasts none of whose recipients wait are sent."""
    waiting = select(_R.id).where(_R.broadcast_id == Broadcast.id, _R.status == RecipientStatus.WAITING).exists()
    db.execute(
        update(Broadcast)
        .where(Broadcast.id.in_(broadcast_ids), Broadcast.status == BroadcastStatus.SENDING, ~waiting)
        .values(status=BroadcastStatus.SENT, sent_at=now)
        .execution_options(synchronize_session=False)
    )
