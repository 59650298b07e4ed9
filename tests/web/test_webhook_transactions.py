"""Where a webhook's transaction runs: on the event loop when SQLite is free, queued on a thread when it is not."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from clinic_reminders.db import SQLITE_BUSY_TIMEOUT_MS, make_engine, make_sessionmaker
from clinic_reminders.models import AuditEntry, Base, Office, utcnow
from clinic_reminders.web.webhooks import database


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    return tmp_path / "webhooks.db"


@pytest.fixture
def engine(sqlite_file: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{sqlite_file}")
    Base.metadata.create_all(engine)
    with make_sessionmaker(engine)() as db, db.begin():
        db.add(Office(name="Office"))
    yield engine
    engine.dispose()


@pytest.fixture
def request_(engine: Engine) -> Any:
    """What `in_transaction` reads of a request: the app's state."""
    app = FastAPI()
    app.state.sessions = make_sessionmaker(engine)
    database.install(app, engine)
    return SimpleNamespace(app=app)


def _record(threads: list[str]) -> Any:
    def work(db: Session) -> int:
        threads.append(threading.current_thread().name)
        db.add(AuditEntry(office_id=1, actor="twilio", action="test", entity="webhook", at=utcnow(), detail={}))
        return 7

    return work


def _entries(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def test_on_a_free_sqlite_database_it_runs_on_the_event_loop(request_: Any, engine: Engine) -> None:
    threads: list[str] = []
    assert asyncio.run(database.in_transaction(request_, _record(threads))) == 7
    assert threads == [threading.current_thread().name]
    assert _entries(engine) == 1


def test_when_another_connection_writes_it_waits_on_its_thread_not_on_the_loop(
    request_: Any, engine: Engine, sqlite_file: Path
) -> None:
    threads: list[str] = []
    writer = sqlite3.connect(sqlite_file, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # e.g. an import, holding the write lock for longer than the loop tries

    async def scenario() -> list[str]:
        webhook = asyncio.create_task(database.in_transaction(request_, _record(threads)))
        await asyncio.sleep(0.2)  # the loop is free meanwhile: this sleep ends on time
        assert not webhook.done()
        writer.execute("COMMIT")
        await webhook
        return threads

    assert asyncio.run(asyncio.wait_for(scenario(), 10))
    loop_thread = threading.current_thread().name
    on_loop = [name for name in threads if name == loop_thread]
    assert threads[: len(on_loop)] == on_loop and len(on_loop) > 1, "first tried on the loop, several times"
    assert threads[len(on_loop) :] == [threads[-1]] and threads[-1].startswith("webhooks"), "then on the thread"
    assert _entries(engine) == 1, "the attempts that found the lock were rolled back"
    writer.close()


def test_a_short_lock_is_waited_out_on_the_loop(request_: Any, engine: Engine, sqlite_file: Path) -> None:
    """Another writer's short transaction (the dispatcher's, the write-back engine's) delays an answer by its
    own length: the loop tries again, instead of queueing the answer behind SQLite's busy handler's sleeps."""
    threads: list[str] = []
    writer = sqlite3.connect(sqlite_file, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    record = _record(threads)

    def work(db: Session) -> int:
        if len(threads) == 2:  # the writer ends while the webhook waits for it (at its third try)
            writer.execute("COMMIT")
        return record(db)

    assert asyncio.run(asyncio.wait_for(database.in_transaction(request_, work), 10)) == 7
    assert threads == [threading.current_thread().name] * 3
    assert _entries(engine) == 1
    writer.close()


def test_the_lock_is_taken_before_the_work_begins(request_: Any, engine: Engine, sqlite_file: Path) -> None:
    """A webhook that waited never writes on a snapshot another writer made stale in the meantime."""
    reads: list[int] = []

    def work(db: Session) -> None:
        reads.append(_count(db))
        other = sqlite3.connect(sqlite_file, timeout=0)
        with pytest.raises(sqlite3.OperationalError, match="locked"):  # the webhook holds the lock already
            other.execute(
                "INSERT INTO audit_log (office_id, actor, action, entity, at, detail) "
                "VALUES (1, 'x', 'x', 'x', '2026-01-01', '{}')"
            )
        other.close()
        db.add(AuditEntry(office_id=1, actor="twilio", action="test", entity="webhook", at=utcnow(), detail={}))

    asyncio.run(database.in_transaction(request_, work))
    assert reads == [0]
    assert _entries(engine) == 1


def _count(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def test_an_error_rolls_back_and_is_not_retried(request_: Any, engine: Engine) -> None:
    calls: list[str] = []

    def failing(db: Session) -> None:
        _record(calls)(db)
        db.flush()
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        asyncio.run(database.in_transaction(request_, failing))
    assert len(calls) == 1
    assert _entries(engine) == 0


def test_only_the_loops_own_connection_gives_up_at_once(request_: Any, engine: Engine) -> None:
    asyncio.run(database.in_transaction(request_, _record([])))
    with request_.app.state.webhook_sessions_on_loop() as db:
        assert db.scalar(text("PRAGMA busy_timeout")) == 0
    with engine.connect() as connection:  # the shared pool, which staff pages and the webhooks' thread use
        assert connection.scalar(text("PRAGMA busy_timeout")) == SQLITE_BUSY_TIMEOUT_MS


@pytest.mark.postgres
def test_postgresql_always_uses_the_threads(postgres_schema_url: str) -> None:
    engine = make_engine(postgres_schema_url)
    app = FastAPI()
    app.state.sessions = make_sessionmaker(engine)
    database.install(app, engine)
    threads: list[str] = []

    def work(db: Session) -> int:
        threads.append(threading.current_thread().name)
        return int(db.scalar(text("SELECT 1")) or 0)

    assert asyncio.run(database.in_transaction(SimpleNamespace(app=app), work)) == 1  # type: ignore[arg-type]
    assert threads[0].startswith("webhooks")
    engine.dispose()
