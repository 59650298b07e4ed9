"""Claiming deliveries that are due, in order per appointment, with a lease.

A delivery is due when it is pending, its `next_attempt_at` has come and no lease on it runs; it is eligible only
when no earlier delivery (lower event id) of the same destination and appointment is undelivered. An event about
no appointment (an opt-out or opt-in) waits in the same way for the patient's earlier events about no
appointment; an event about neither goes on its own. So at most one delivery per appointment (or patient) and
destination is ever on its way, and the next one starts only once the receiver took it: a failed one (given up
after the retry window) keeps the later ones waiting until staff send it again or resume the destination.

A claim writes a lease: `lease_owner` is the worker's id and the claim's serial, `lease_expires_at` is now plus
twice the destination's timeout and a second; the worker records the outcome only while the owner is still its
claim's (`fenced`). A worker that died leaves its leases to run out, and any worker sends those deliveries
again: that is what "at least once" means here. On PostgreSQL concurrent claims skip each other's rows
(FOR UPDATE SKIP LOCKED); on SQLite the one UPDATE statement is atomic by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Exists, and_, bindparam, or_, select, update
from sqlalchemy.orm import Session, aliased

from ..models import Delivery, DeliveryStatus


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    event_id: int
    owner: str  # the lease_owner written by this claim


def lease_for(timeout: float) -> timedelta:
    """Long enough for the send (the engine stops waiting after `timeout` + 1 s) and for recording it."""
    return timedelta(seconds=2 * timeout + 1)


def _blocked() -> ColumnElement[bool]:
    """An earlier delivery of the same appointment (or patient) is undelivered: two lookups, each on its index."""
    by_appointment, by_patient = aliased(Delivery), aliased(Delivery)

    def earlier(other: type[Delivery], *same: ColumnElement[bool]) -> Exists:
        return (
            select(other.id)
            .where(
                other.destination_id == Delivery.destination_id,
                *same,
                other.event_id < Delivery.event_id,
                other.status != DeliveryStatus.DELIVERED,
            )
            .exists()
        )

    return or_(
        and_(
            Delivery.appointment_id.is_not(None),
            earlier(by_appointment, by_appointment.appointment_id == Delivery.appointment_id),
        ),
        and_(
            Delivery.appointment_id.is_(None),
            Delivery.patient_id.is_not(None),
            earlier(by_patient, by_patient.patient_id == Delivery.patient_id, by_patient.appointment_id.is_(None)),
        ),
    )


def claim(db: Session, destination_id: int, owner: str, now: datetime, lease: timedelta, limit: int) -> list[Claim]:
    """Up to `limit` eligible deliveries of one destination, oldest event first, leased to `owner`."""
    if limit <= 0:
        return []
    candidates = (
        select(Delivery.id)
        .where(
            Delivery.destination_id == destination_id,
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.next_attempt_at <= now,
            or_(Delivery.lease_expires_at.is_(None), Delivery.lease_expires_at < now),
            ~_blocked(),
        )
        .order_by(Delivery.event_id)
        .limit(limit)
    )
    if db.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True, of=Delivery)
    elif db.scalar(candidates) is None:
        return []  # SQLite: the UPDATE would take the write lock, the web app's too, for nothing
    claimed = db.execute(
        update(Delivery)
        .where(Delivery.id.in_(candidates.scalar_subquery()))
        .values(lease_owner=owner, lease_expires_at=now + lease)
        .returning(Delivery.id, Delivery.event_id)
        .execution_options(synchronize_session=False)
    )
    return sorted((Claim(delivery_id, event_id, owner) for delivery_id, event_id in claimed), key=lambda c: c.event_id)


_TABLE: Any = Delivery.__table__
_HAND_BACK = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("b_id"), _TABLE.c.lease_owner == bindparam("b_owner"))
    .values(lease_owner=None, lease_expires_at=None)
)


def hand_back(db: Session, claims: list[Claim]) -> None:
    """Claimed deliveries that were not sent are free to claim again at once (not when their lease ends)."""
    if claims:
        db.execute(_HAND_BACK, [{"b_id": c.delivery_id, "b_owner": c.owner} for c in claims])


def fenced(db: Session, claims: list[Claim]) -> list[Delivery]:
    """The claimed deliveries whose lease is still the claim's, loaded (and on PostgreSQL locked) for recording."""
    if not claims:
        return []
    owners = {c.delivery_id: c.owner for c in claims}
    query = select(Delivery).where(Delivery.id.in_(list(owners)), Delivery.lease_owner.in_(set(owners.values())))
    if db.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Delivery)
    return [d for d in db.scalars(query.order_by(Delivery.id)) if owners[d.id] == d.lease_owner]
