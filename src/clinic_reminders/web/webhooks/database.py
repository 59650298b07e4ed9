"""Where the webhooks run their one short transaction.

On SQLite a webhook's transaction is a fraction of a millisecond of work on a local file, so it runs right on
the event loop, without waiting: SQLite's busy handler is turned off for it, and if another connection holds
the write lock (the dispatcher, a staff page), the attempt is rolled back and the transaction is queued on the
webhooks' one thread instead, where it waits for the lock. The event loop therefore never sleeps on a lock.
Handing every transaction to a thread cost more than the transaction itself: each hand-over is a thread switch
and a fight for the GIL with the loop (`reminders bench webhook`: the bare signed insert went from about 850 to
about 1,450 requests/s on the loop).
PostgreSQL is across a socket and takes many writers at once, so it always gets several threads.
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from fastapi import FastAPI, Request
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ...db import SQLITE_BUSY_TIMEOUT_MS, transaction

T = TypeVar("T")
POSTGRES_THREADS = 8


def install(app: FastAPI, engine: Engine) -> None:
    on_sqlite = engine.dialect.name == "sqlite"
    executor = ThreadPoolExecutor(max_workers=1 if on_sqlite else POSTGRES_THREADS, thread_name_prefix="webhooks")
    app.state.webhook_executor = executor
    app.state.webhooks_on_loop = engine if on_sqlite else None
    weakref.finalize(app, executor.shutdown, wait=False)  # its threads end with the app (tests make many)


async def in_transaction(request: Request, work: Callable[[Session], T]) -> T:
    """`work(db)` in one transaction, committed when it returns, rolled back if it raises.

    `work` may run twice (on SQLite, when its first attempt found the database locked): it must only touch the
    database.
    """
    state = request.app.state
    if state.webhooks_on_loop is not None:
        try:
            return _without_waiting(state.webhooks_on_loop, state.sessions, work)
        except OperationalError as error:
            if not _is_busy(error):
                raise
    return await asyncio.get_running_loop().run_in_executor(state.webhook_executor, _run, state.sessions, work)


def _run(sessions: sessionmaker[Session], work: Callable[[Session], T]) -> T:
    with transaction(sessions) as db:
        return work(db)


def _without_waiting(engine: Engine, sessions: sessionmaker[Session], work: Callable[[Session], T]) -> T:
    """`work` in a transaction that gives up at once (SQLITE_BUSY) when another connection is writing."""
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        assert raw is not None
        raw.execute("PRAGMA busy_timeout=0")
        try:
            with sessions(bind=connection) as db, db.begin():
                return work(db)
        finally:
            raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def _is_busy(error: OperationalError) -> bool:
    return isinstance(error.orig, sqlite3.OperationalError) and error.orig.sqlite_errorcode == sqlite3.SQLITE_BUSY
