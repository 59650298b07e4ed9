"""How a dispatcher says how it is: its heartbeat row, its failures told without patient data, its backoff.

An error's own text is no safe thing to log: SQLAlchemy's quotes the statement and its parameters, PostgreSQL's
may quote a value ('invalid input syntax for type ...: "Ana"'). `describe` keeps the exception's type and a
reason known to hold no values: SQLite's message (it names tables and columns, never values), PostgreSQL's
error class (its SQLSTATE name), or, when the driver failed before the server answered (a refused connection),
the first line of the driver's message.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime

from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from ..models import WorkerHeartbeat

FAILURE_LENGTH = 200  # WorkerHeartbeat.failure
REASON_LENGTH = 120


def describe(error: BaseException) -> str:
    """'OperationalError (database is locked)': the exception's type and a reason that quotes no data."""
    name = type(error).__name__
    cause = error.orig if isinstance(error, StatementError) else None
    if cause is None:
        return name
    if getattr(cause, "sqlstate", None):  # PostgreSQL answered: its error class says what went wrong
        return f"{name} ({type(cause).__name__})"
    module = type(cause).__module__
    if module.startswith(("sqlite3", "psycopg")):
        lines = str(cause).strip().splitlines()
        reason = lines[0][:REASON_LENGTH] if lines else type(cause).__name__
        return f"{name} ({reason})"
    return f"{name} ({type(cause).__name__})"  # raised while binding a value: its text may hold the value


def beat(
    db: Session,
    worker_id: str,
    now: datetime,
    started_at: datetime,
    failing_since: datetime | None,
    last_failure: tuple[datetime, str] | None,
) -> None:
    """One beat. A worker that works moves `seen_at`; one whose database work fails since `failing_since` says
    so and leaves `seen_at` where it was. Both keep the latest failure (when, and why)."""
    row = _row(db, worker_id, started_at, started_at if failing_since else now)
    if failing_since is None:
        row.seen_at = now
    row.failing_since = failing_since
    if last_failure is not None:
        row.failed_at, row.failure = last_failure[0], last_failure[1][:FAILURE_LENGTH]


def _row(db: Session, worker_id: str, started_at: datetime, seen_at: datetime) -> WorkerHeartbeat:
    row = db.get(WorkerHeartbeat, worker_id)
    if row is None:
        row = WorkerHeartbeat(
            worker_id=worker_id, hostname=socket.gethostname(), pid=os.getpid(), started_at=started_at, seen_at=seen_at
        )
        db.add(row)
    return row


class Backoff:
    """Growing pauses between attempts: 1 s, 2 s, 4 s... up to `longest`, until `reset`."""

    def __init__(self, first: float = 1.0, longest: float = 30.0) -> None:
        self.first = first
        self.longest = longest
        self._failures = 0

    def next(self) -> float:
        delay = min(self.longest, self.first * 2.0 ** min(self._failures, 30))
        self._failures += 1
        return delay

    def reset(self) -> None:
        self._failures = 0
