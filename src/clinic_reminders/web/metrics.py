"""`/metrics` for Prometheus: the process's counters plus gauges read from the database at scrape time.

Database-derived figures are right however many workers run (each worker process also counts its own sends and
Twilio latency, exposed here for the embedded one). Scraping needs a staff bearer token, like the API.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..messaging.delivery import FAILED
from ..models import Message, Reminder, ReminderStatus, utcnow
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


@router.get("/metrics")
def metrics(db: DbDep) -> Response:
    registry = CollectorRegistry()
    registry.register(DatabaseGauges(db))
    body = generate_latest(REGISTRY) + generate_latest(registry)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
