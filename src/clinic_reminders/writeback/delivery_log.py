"""The deliveries as staff watch them: newest first, with their destination's name and their event's type, for
`GET /api/writeback/deliveries` and the Deliveries page alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ..models import Delivery, Destination, Event


@dataclass(frozen=True)
class DeliveryRow:
    delivery: Delivery
    destination_name: str
    event_type: str | None  # None once the event is gone (events are history, not a foreign key)


def _filtered(office_id: int, status: str | None, destination_id: int | None) -> Select[Any]:
    stmt = select(Delivery).where(Delivery.office_id == office_id)
    if status is not None:
        stmt = stmt.where(Delivery.status == status)
    if destination_id is not None:
        stmt = stmt.where(Delivery.destination_id == destination_id)
    return stmt


def _with_names(stmt: Select[Any]) -> Select[Any]:
    return (
        stmt.add_columns(Destination.name, Event.type)
        .join(Destination, Destination.id == Delivery.destination_id)
        .outerjoin(Event, Event.id == Delivery.event_id)
    )


def row(db: Session, delivery: Delivery) -> DeliveryRow:
    _, name, event_type = db.execute(_with_names(select(Delivery).where(Delivery.id == delivery.id))).one()
    return DeliveryRow(delivery, name, event_type)


def recent(
    db: Session,
    office_id: int,
    *,
    status: str | None = None,
    destination_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[DeliveryRow], int]:
    """One page of the office's deliveries and how many match in all."""
    filtered = _filtered(office_id, status, destination_id)
    total = db.scalar(select(func.count()).select_from(filtered.subquery())) or 0
    stmt = _with_names(filtered).order_by(Delivery.id.desc()).limit(limit).offset(offset)
    rows = [DeliveryRow(delivery, name, event_type) for delivery, name, event_type in db.execute(stmt).all()]
    return rows, total
