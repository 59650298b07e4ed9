"""How the dispatcher tells its failures: never with the statement's values; and a dispatcher that dies of a bug
is logged at once and started again."""

from __future__ import annotations

import asyncio
import logging
import sqlite3

import psycopg
import psycopg.errors
import pytest
from sqlalchemy.exc import IntegrityError, OperationalError, StatementError

from clinic_reminders.dispatcher.health import Backoff, describe
from clinic_reminders.dispatcher.supervisor import Dispatcher

PATIENT_PHONE = "+12125550142"
STATEMENT = "UPDATE messages SET to_number=? WHERE id = ?"


@pytest.mark.parametrize(
    ("error", "told"),
    [
        (
            OperationalError(STATEMENT, (PATIENT_PHONE, 1), sqlite3.OperationalError("database is locked")),
            "OperationalError (database is locked)",
        ),
        (
            IntegrityError(
                STATEMENT,
                (PATIENT_PHONE, 1),
                psycopg.errors.UniqueViolation(f"duplicate key value\nDETAIL: Key (to_number)=({PATIENT_PHONE})"),
            ),
            "IntegrityError (UniqueViolation)",
        ),
        (
            OperationalError(
                "SELECT 1", None, psycopg.OperationalError('connection failed: server at "db", port 5432 refused')
            ),
            'OperationalError (connection failed: server at "db", port 5432 refused)',
        ),
        (
            StatementError("bind failed", STATEMENT, (PATIENT_PHONE,), ValueError(f"bad value {PATIENT_PHONE}")),
            "StatementError (ValueError)",
        ),
        (KeyError(PATIENT_PHONE), "KeyError"),
    ],
)
def test_it_tells_a_failure_by_its_kind_never_by_the_values_involved(error: BaseException, told: str) -> None:
    assert describe(error) == told


def test_its_pauses_grow_up_to_a_limit_and_start_over_after_a_success() -> None:
    backoff = Backoff(first=1.0, longest=30.0)
    assert [backoff.next() for _ in range(7)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    backoff.reset()
    assert backoff.next() == 1.0


class BuggyOnce:
    """A worker whose first incarnation dies of a bug whose message quotes a patient's number."""

    runs = 0

    def __init__(self, done: asyncio.Event) -> None:
        self.done = done

    async def run(self) -> None:
        BuggyOnce.runs += 1
        if BuggyOnce.runs == 1:
            raise ValueError(f"no such phone {PATIENT_PHONE}")
        self.done.set()

    def stop(self) -> None:
        pass


def test_a_dispatcher_that_dies_is_logged_at_once_and_started_again(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)

    async def scenario() -> None:
        done = asyncio.Event()
        dispatcher = Dispatcher(lambda: BuggyOnce(done), backoff=Backoff(first=0.01))
        await asyncio.wait_for(dispatcher.run(), timeout=10)
        assert done.is_set()

    asyncio.run(scenario())
    assert BuggyOnce.runs == 2
    [died] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "the dispatcher died: ValueError; starting it again" in died.getMessage()
    assert "test_dispatcher_health.py" in died.getMessage() and "in run" in died.getMessage()  # where it died
    assert PATIENT_PHONE not in caplog.text


def test_a_stopped_dispatcher_is_not_started_again() -> None:
    class Forever:
        def __init__(self) -> None:
            self.stopped = asyncio.Event()

        async def run(self) -> None:
            await self.stopped.wait()

        def stop(self) -> None:
            self.stopped.set()

    async def scenario() -> int:
        started: list[Forever] = []

        def new() -> Forever:
            started.append(Forever())
            return started[-1]

        dispatcher = Dispatcher(new)
        task = asyncio.create_task(dispatcher.run())
        await asyncio.sleep(0.01)
        dispatcher.stop()
        await asyncio.wait_for(task, timeout=5)
        return len(started)

    assert asyncio.run(scenario()) == 1
