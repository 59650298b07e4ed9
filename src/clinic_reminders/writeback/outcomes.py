"""Recording what each send came to, and pausing a destination that failed for the whole retry window.

A delivery the receiver took is delivered. One it did not take is tried again after the policy's pause
(`backoff.RetryPolicy`), until it has been failing for the retry window since its first attempt: then it is
failed and its destination paused, with the reason shown on the Write-back page; the admins hear of it from the
running service's watch (doctor/writeback_watch.py). A permanent failure (the receiver retired the endpoint, the
destination's settings or secret cannot work) fails the delivery and pauses the destination at once: someone must
act, and the appointment's later events wait behind it anyway.

Each outcome is written only while the claim's lease still holds (`claims.fenced`); the destination's
`last_result` takes the latest outcome of the batch ("OK: HTTP 200", "Failed: HTTP 503 Service Unavailable").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from ..models import Delivery, DeliveryStatus, Destination
from . import claims
from .backoff import RetryPolicy

OK, FAILED = "OK: ", "Failed: "  # how `last_result` starts (as the test button writes it)
TEXT_LENGTH = 300


@dataclass(frozen=True)
class Delivered:
    result: str  # the transport's short answer ("HTTP 200 OK", "AA")


@dataclass(frozen=True)
class Failed:
    reason: str  # DeliveryFailed.reason: never patient data
    permanent: bool = False


Outcome = Delivered | Failed


@dataclass
class Recorded:
    written: int = 0  # outcomes written (the others' leases had been taken over)
    paused: dict[int, str] = field(default_factory=dict)  # destination id: why


def span(length: timedelta) -> str:
    seconds = length.total_seconds()
    if seconds >= 86400:
        return f"{seconds / 86400:g} days"
    if seconds >= 3600:
        return f"{seconds / 3600:g} hours"
    return f"{seconds:g} seconds"


_FIELDS = ("status", "attempts", "first_attempt_at", "next_attempt_at", "last_error", "delivered_at")
_TABLE: Any = Delivery.__table__
# One statement for the whole batch (executemany): the lease is handed back with the outcome. The owner is checked
# again, so that the fenced read may come before the round's first write (which takes SQLite's write lock).
_WRITE = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("b_id"), _TABLE.c.lease_owner == bindparam("b_owner"))
    .values(lease_owner=None, lease_expires_at=None, **{name: bindparam(f"b_{name}") for name in _FIELDS})
)


def record(
    db: Session,
    results: list[tuple[claims.Claim, Outcome]],
    now: datetime,
    policy: RetryPolicy,
    held: list[Delivery] | None = None,
) -> Recorded:
    """`held`: `claims.fenced` of the results' claims, when read earlier in the transaction."""
    by_id = {d.id: d for d in (claims.fenced(db, [claim for claim, _ in results]) if held is None else held)}
    recorded = Recorded()
    latest: dict[int, str] = {}
    rows = []
    for claim, outcome in results:
        delivery = by_id.get(claim.delivery_id)
        if delivery is None:
            continue  # another worker holds it now and records its own attempt
        row = {
            "b_id": delivery.id,
            "b_owner": claim.owner,
            "b_status": delivery.status,
            "b_attempts": delivery.attempts + 1,
            "b_first_attempt_at": delivery.first_attempt_at or now,
            "b_next_attempt_at": delivery.next_attempt_at,
            "b_last_error": None,
            "b_delivered_at": None,
        }
        rows.append(row)
        if isinstance(outcome, Delivered):
            row["b_status"], row["b_delivered_at"] = DeliveryStatus.DELIVERED, now
            latest[delivery.destination_id] = OK + outcome.result
            continue
        row["b_last_error"] = outcome.reason[:TEXT_LENGTH]
        latest[delivery.destination_id] = FAILED + outcome.reason
        if outcome.permanent:
            row["b_status"] = DeliveryStatus.FAILED
            recorded.paused.setdefault(delivery.destination_id, f"{outcome.reason} (refused for good: fix it, resume)")
        elif policy.given_up(delivery.first_attempt_at or now, now):
            row["b_status"] = DeliveryStatus.FAILED
            why = f"deliveries failed for {span(policy.window)}, the last with {outcome.reason}"
            recorded.paused.setdefault(delivery.destination_id, why)
        else:
            row["b_next_attempt_at"] = now + policy.pause(delivery.attempts + 1)
    if rows:
        db.execute(_WRITE, rows)
    recorded.written = len(rows)
    for destination_id, text in latest.items():
        db.execute(
            update(Destination)
            .where(Destination.id == destination_id)
            .values(last_result=text[:TEXT_LENGTH], last_result_at=now)
            .execution_options(synchronize_session=False)
        )
    for destination_id, why in recorded.paused.items():
        pause(db, destination_id, why, now)
    return recorded


def pause(db: Session, destination_id: int, why: str, now: datetime) -> None:
    """Nothing more is fanned out or sent to it until staff resume it (a pause already in force is kept)."""
    db.execute(
        update(Destination)
        .where(Destination.id == destination_id, Destination.paused_at.is_(None))
        .values(paused_at=now, paused_reason=why[:TEXT_LENGTH])
        .execution_options(synchronize_session=False)
    )


def hurry(db: Session, destination_id: int, now: datetime) -> int:
    """A destination that answers again after an outage: its deliveries waiting out a backoff are due now."""
    result = db.execute(
        update(Delivery)
        .where(
            Delivery.destination_id == destination_id,
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.attempts > 0,
            Delivery.next_attempt_at > now,
        )
        .values(next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
