"""`reminders doctor` on a dispatcher that fails: since when, and why, from its heartbeat row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders.doctor import Report, Status
from clinic_reminders.models import WorkerHeartbeat
from tests.fixtures.simulator import SimulatorClient
from tests.integration.doctor_support import doctor, settings_for

NOW = datetime(2030, 6, 12, 10, 45, tzinfo=UTC)
LOCKED = "OperationalError (database is locked)"


def at(clock: str) -> datetime:
    hours, minutes, seconds = (int(part) for part in clock.split(":"))
    return NOW.replace(hour=hours, minute=minutes, second=seconds)


def add_heartbeat(session: Session, worker_id: str, seen: str, **failure: object) -> None:
    session.add(
        WorkerHeartbeat(
            worker_id=worker_id, hostname="h", pid=1, started_at=NOW - timedelta(hours=1), seen_at=at(seen), **failure
        )
    )
    session.commit()


def failing(since: str, last: str) -> dict[str, object]:
    return {"failing_since": at(since), "failed_at": at(last), "failure": LOCKED}


def dispatcher_check(simulator: SimulatorClient, database_url: str, sessions: sessionmaker[Session]) -> Report:
    return doctor(settings_for(simulator, database_url), sessions, "dispatcher.heartbeat", now=NOW)


def test_it_says_since_when_and_why_the_dispatcher_cannot_reach_the_database(
    simulator: SimulatorClient, database_url: str, session_factory: sessionmaker[Session], session: Session
) -> None:
    add_heartbeat(session, "w1", seen="10:41:58", **failing(since="10:42:03", last="10:44:55"))
    result = dispatcher_check(simulator, database_url, session_factory).result("dispatcher.heartbeat")
    assert result.status is Status.FAILED
    assert result.explanation == (
        f"the dispatcher cannot reach the database since 10:42 UTC: {LOCKED}; reminders are not being sent"
    )
    assert "REMINDERS_DATABASE_URL" in result.fix and "lock" in result.fix


def test_it_warns_when_one_dispatcher_fails_while_others_send(
    simulator: SimulatorClient, database_url: str, session_factory: sessionmaker[Session], session: Session
) -> None:
    add_heartbeat(session, "w1", seen="10:41:58", **failing(since="10:42:03", last="10:44:55"))
    add_heartbeat(session, "w2", seen="10:44:58")
    result = dispatcher_check(simulator, database_url, session_factory).result("dispatcher.heartbeat")
    assert result.status is Status.WARNING
    assert result.explanation == (
        f"1 of 2 dispatchers cannot reach the database since 10:42 UTC: {LOCKED}; the others are sending"
    )


def test_a_dispatcher_that_recovered_is_fine_and_its_last_failure_is_told(
    simulator: SimulatorClient, database_url: str, session_factory: sessionmaker[Session], session: Session
) -> None:
    add_heartbeat(session, "w1", seen="10:44:58", failed_at=at("10:42:40"), failure=LOCKED)
    result = dispatcher_check(simulator, database_url, session_factory).result("dispatcher.heartbeat")
    assert result.status is Status.OK
    assert result.explanation == f"last heartbeat 2 s ago; it last failed at 10:42 UTC: {LOCKED}"


def test_a_dispatcher_gone_quiet_while_failing_is_told_as_both(
    simulator: SimulatorClient, database_url: str, session_factory: sessionmaker[Session], session: Session
) -> None:
    add_heartbeat(session, "w1", seen="10:30:00", **failing(since="10:30:02", last="10:31:00"))
    result = dispatcher_check(simulator, database_url, session_factory).result("dispatcher.heartbeat")
    assert result.status is Status.FAILED
    assert result.explanation == (
        "the dispatcher was last seen 15 min ago; it cannot reach the database since 10:30 UTC: "
        f"{LOCKED}; reminders are not being sent"
    )
