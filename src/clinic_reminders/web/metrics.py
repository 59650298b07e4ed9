"""`/metrics` for Prometheus: the process's counters plus gauges read from the database at scrape time.

Database-derived figures are right however many workers run (each worker process also counts its own sends and
Twilio latency, and its write-back sends and their latency, exposed here for the embedded ones). Scraping needs a
staff bearer token, like the API.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..messaging.delivery import FAILED
from ..models import Delivery, DeliveryStatus, Destination, Message, Reminder, ReminderStatus, utcnow
from .deps import DbDep, get_current_user

router = APIRouter(include_in_schema=False, dependencies=[Depends(get_current_user)])


class DatabaseGauges(Collector):
    def __init__(self, db: Session) -> None:
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = utcnow()
        due = (Reminder.status == ReminderStatus.PLANNED) & (Reminder.due_at <= now)
        count, oldest = self.db.execute(select(func.count(), func.min(Reminder.due_at)).where(due)).one()
        yield GaugeMetricFamily("reminders_due", "Reminders due and not yet claimed", value=count)
        lag = (now - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily("reminders_oldest_due_lag_seconds", "How late the oldest due reminder is", value=lag)
        by_status = GaugeMetricFamily("reminders", "Reminders by status", labels=["status"])
        for status, n in self.db.execute(select(Reminder.status, func.count()).group_by(Reminder.status)):
            by_status.add_metric([status], n)
        yield by_status
        failed = GaugeMetricFamily(
            "messages_failed", "Failed or undelivered messages by Twilio error code", labels=["code"]
        )
        rows = self.db.execute(
            select(Message.error_code, func.count()).where(Message.status.in_(FAILED)).group_by(Message.error_code)
        )
        for code, n in rows:
            failed.add_metric([str(code or "")], n)
        yield failed
        yield from self.writeback(now)

    def writeback(self, now: datetime) -> Iterator[GaugeMetricFamily]:
        deliveries = GaugeMetricFamily(
            "writeback_deliveries", "Write-back deliveries by status and destination kind", labels=["status", "kind"]
        )
        rows = self.db.execute(
            select(Delivery.status, Destination.kind, func.count())
            .join(Destination, Destination.id == Delivery.destination_id)
            .group_by(Delivery.status, Destination.kind)
        )
        for status, kind, n in rows:
            deliveries.add_metric([status, kind], n)
        yield deliveries
        oldest = self.db.scalar(select(func.min(Delivery.created_at)).where(Delivery.status == DeliveryStatus.PENDING))
        age = (now - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily(
            "writeback_oldest_pending_seconds", "How long the oldest undelivered write-back has waited", value=age
        )
        paused = select(func.count()).select_from(Destination).where(Destination.paused_at.is_not(None))
        yield GaugeMetricFamily(
            "writeback_destinations_paused",
            "Write-back destinations paused after failing",
            value=self.db.scalar(paused),
        )


@router.get("/metrics")
def metrics(db: DbDep) -> Response:
    registry = CollectorRegistry()
    registry.register(DatabaseGauges(db))
    body = generate_latest(REGISTRY) + generate_latest(registry)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
