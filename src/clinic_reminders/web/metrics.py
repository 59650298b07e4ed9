"""`/metrics` for Prometheus: the process's counters plus gauges read from the database at scrape time.

Database-derived figures are right however many workers run, and each series carries its `office` (the id):
a staff user's scrape has their own office's, an operator's every office's. The process's own counters (its
sends and Twilio latency, its write-back sends, refused webhooks, for the embedded workers) are the
deployment's, of every office at once: only an operator, or the staff of a deployment that hosts one office,
sees them (a separate `reminders worker` does not serve its own yet). Scraping needs a staff bearer
token, like the API.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from ..messaging.delivery import FAILED
from ..models import Delivery, DeliveryStatus, Destination, Message, Office, Reminder, ReminderStatus, utcnow
from .deps import CurrentUser, DbDep

router = APIRouter(include_in_schema=False)


class DatabaseGauges(Collector):
    """The gauges of the offices with these ids, each series labelled with its office; offices with nothing to
    count still get their zeros (an alert on a missing series never fires)."""

    def __init__(self, db: Session, office_ids: list[int]) -> None:
        self.db = db
        self.office_ids = office_ids

    def _of(self, office_id: InstrumentedAttribute[int]) -> ColumnElement[bool]:
        return office_id.in_(self.office_ids)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = utcnow()
        due = (Reminder.status == ReminderStatus.PLANNED) & (Reminder.due_at <= now) & self._of(Reminder.office_id)
        counts: dict[int, tuple[int, datetime | None]] = {o: (0, None) for o in self.office_ids}
        for row in self.db.execute(
            select(Reminder.office_id, func.count(), func.min(Reminder.due_at)).where(due).group_by(Reminder.office_id)
        ):
            counts[row[0]] = (row[1], row[2])
        due_now = GaugeMetricFamily("reminders_due", "Reminders due and not yet claimed", labels=["office"])
        lag = GaugeMetricFamily(
            "reminders_oldest_due_lag_seconds", "How late the oldest due reminder is", labels=["office"]
        )
        for office_id, (count, first_due) in counts.items():
            due_now.add_metric([str(office_id)], count)
            lag.add_metric([str(office_id)], (now - first_due).total_seconds() if first_due is not None else 0.0)
        yield due_now
        yield lag
        by_status = GaugeMetricFamily("reminders", "Reminders by status", labels=["office", "status"])
        for office_id, status, n in self.db.execute(
            select(Reminder.office_id, Reminder.status, func.count())
            .where(self._of(Reminder.office_id))
            .group_by(Reminder.office_id, Reminder.status)
        ):
            by_status.add_metric([str(office_id), status], n)
        yield by_status
        failed = GaugeMetricFamily(
            "messages_failed", "Failed or undelivered messages by Twilio error code", labels=["office", "code"]
        )
        for office_id, code, n in self.db.execute(
            select(Message.office_id, Message.error_code, func.count())
            .where(Message.status.in_(FAILED), self._of(Message.office_id))
            .group_by(Message.office_id, Message.error_code)
        ):
            failed.add_metric([str(office_id), str(code or "")], n)
        yield failed
        yield from self.writeback(now)

    def writeback(self, now: datetime) -> Iterator[GaugeMetricFamily]:
        deliveries = GaugeMetricFamily(
            "writeback_deliveries",
            "Write-back deliveries by status and destination kind",
            labels=["office", "status", "kind"],
        )
        for office_id, status, kind, n in self.db.execute(
            select(Delivery.office_id, Delivery.status, Destination.kind, func.count())
            .join(Destination, Destination.id == Delivery.destination_id)
            .where(self._of(Delivery.office_id))
            .group_by(Delivery.office_id, Delivery.status, Destination.kind)
        ):
            deliveries.add_metric([str(office_id), status, kind], n)
        yield deliveries
        oldest = dict.fromkeys(self.office_ids, None) | dict(
            self.db.execute(
                select(Delivery.office_id, func.min(Delivery.created_at))
                .where(Delivery.status == DeliveryStatus.PENDING, self._of(Delivery.office_id))
                .group_by(Delivery.office_id)
            ).all()
        )
        waited = GaugeMetricFamily(
            "writeback_oldest_pending_seconds",
            "How long the oldest undelivered write-back has waited",
            labels=["office"],
        )
        for office_id, created in oldest.items():
            waited.add_metric([str(office_id)], (now - created).total_seconds() if created is not None else 0.0)
        yield waited
        paused = dict.fromkeys(self.office_ids, 0) | dict(
            self.db.execute(
                select(Destination.office_id, func.count())
                .where(Destination.paused_at.is_not(None), self._of(Destination.office_id))
                .group_by(Destination.office_id)
            ).all()
        )
        stopped = GaugeMetricFamily(
            "writeback_destinations_paused", "Write-back destinations paused after failing", labels=["office"]
        )
        for office_id, n in paused.items():
            stopped.add_metric([str(office_id)], n)
        yield stopped


@router.get("/metrics")
def metrics(db: DbDep, user: CurrentUser) -> Response:
    offices = list(db.scalars(select(Office.id).order_by(Office.id)))
    deployment_wide = user.is_operator or offices == [user.office_id]
    registry = CollectorRegistry()
    registry.register(DatabaseGauges(db, offices if user.is_operator else [user.office_id]))
    body = (generate_latest(REGISTRY) if deployment_wide else b"") + generate_latest(registry)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
