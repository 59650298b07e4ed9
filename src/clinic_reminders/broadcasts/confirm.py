"""Confirming a broadcast: in one transaction, the broadcast row (one per confirmation token), each affected visit
flagged to reschedule through `booking` (a visit asked to be rescheduled has no reminders: `booking` re-plans
them, and `reminder_states.move` retires them; they come back when the visit is booked again), one recipient row
per patient, and the audit entry. The dispatcher texts the recipients after the commit (`broadcast_round`).

A second submit of the same token finds the first broadcast and changes nothing; two at the same instant meet
the unique token, and the later one's transaction fails (`by_token` then finds the first).
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit, booking
from ..effective import TwilioConfig
from ..messaging.segments import estimate_cost
from ..models import (
    ACTIVE_STATUSES,
    AppointmentStatus,
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
    Office,
    RecipientStatus,
)
from ..refusals import Refusal, Refused
from .affected import Ask, find

FLAG = "Office closed (broadcast #{id}): to reschedule"
CONFIRMATION_SHAPE = r"[A-Za-z0-9_-]{16,64}"  # what `affected.preview` makes, and no more


def by_token(db: Session, office_id: int, token: str) -> Broadcast | None:
    return db.scalar(select(Broadcast).where(Broadcast.office_id == office_id, Broadcast.token == token))


def confirm(
    db: Session, office: Office, config: TwilioConfig, ask: Ask, token: str, actor: str, now: datetime
) -> tuple[Broadcast, bool]:
    """The broadcast, and whether this call made it (False: the token's broadcast was made before)."""
    if not re.fullmatch(CONFIRMATION_SHAPE, token):
        raise Refused("token", "send the token the preview gave (16 to 64 letters, digits, - or _)")
    if (made := by_token(db, office.id, token)) is not None:
        return made, False
    found = find(db, office, config, ask, now)
    if not found.visits:
        raise Refused("last_day", "no visits at the clinic on those days", Refusal.CONFLICT)
    broadcast = Broadcast(
        office_id=office.id,
        token=token,
        clinic_id=found.clinic.id,
        first_day=ask.first_day,
        last_day=ask.last_day,
        texts=found.texts,
        status=BroadcastStatus.SENDING if found.to_text else BroadcastStatus.SENT,
        created_by=actor,
        visits=len(found.visits),
        patients=len(found.patients),
        estimated_cost=estimate_cost(found.segments, office.sms_price_per_segment),
        sent_at=None if found.to_text else now,
    )
    db.add(broadcast)
    db.flush()  # the token is claimed here: a second confirmation of it waits, then fails
    flag = FLAG.format(id=broadcast.id)
    for visit in found.visits:
        if visit.status in ACTIVE_STATUSES:
            booking.set_status(db, visit, AppointmentStatus.RESCHEDULE_REQUESTED, actor)
        booking.update(db, visit, {"staff_flag": flag}, actor)
    for reach in found.patients:
        db.add(
            BroadcastRecipient(
                office_id=office.id,
                broadcast_id=broadcast.id,
                patient_id=reach.patient.id,
                status=RecipientStatus.WAITING if reach.reason is None else RecipientStatus.SKIPPED,
                due_at=now,
                reason=reach.reason,
            )
        )
    audit.record(
        db,
        office.id,
        actor,
        "broadcast",
        "broadcast",
        broadcast.id,
        clinic_id=found.clinic.id,
        first_day=ask.first_day.isoformat(),
        last_day=ask.last_day.isoformat(),
        visits=len(found.visits),
        patients=len(found.patients),
        to_text=len(found.to_text),
    )
    db.flush()
    return broadcast, True
