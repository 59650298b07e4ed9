"""Where the webhooks run their one short transaction.

On SQLite a webhook's transaction is short work on a local file (a bare insert well under a millisecond, a
patient's answer about two), so it runs right on the event loop, on a connection of the loop's own that never
waits: its busy timeout is 0 and it takes the write lock at BEGIN, before any work. If another connection holds
the lock (the dispatcher, the write-back engine, a staff page), the loop tries again every millisecond or so,
other requests going on meanwhile, for up to `LOOP_WAIT`; the transaction is then queued on the webhooks' one
thread instead, where it waits for the lock as long as it takes. The event loop therefore never sleeps on a lock,
nor on the shared connection pool; and an answer that meets another writer's short transaction goes on as soon
as it ends, not after SQLite's busy handler's growing sleeps (1, 2, 5, 10 ms...), which were what another
writer added to /app_confirm's p99 (`reminders bench writeback`). Handing every transaction to a thread cost
more than the transaction itself: each hand-over is a thread switch and a fight for the GIL with the loop
(`reminders bench webhook`: the bare signed insert went from about 850 to about 1,450 requests/s on the loop).
PostgreSQL is across a socket and takes many writers at once, so it always gets several threads.

Twilio may deliver one webhook several times at once. Each copy checks that it has not seen the SID, and all
but the first then fail on the SID's unique index (the check cannot see a transaction that has not committed).
Such a copy runs once more, and now sees the first one's SID: it answers as for any replay and changes nothing.
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from fastapi import FastAPI, Request
from sqlalchemy import Engine, StaticPool
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ...db import make_engine, make_sessionmaker, transaction

T = TypeVar("T")
POSTGRES_THREADS = 8
LOOP_WAIT = 0.025  # seconds a webhook tries the loop's connection again before it queues on the thread
RETRY_EVERY = 0.001  # between two tries (the event loop's timers are about this fine)


def install(app: FastAPI, engine: Engine) -> None:
    on_sqlite = engine.dialect.name == "sqlite"
    executor = ThreadPoolExecutor(max_workers=1 if on_sqlite else POSTGRES_THREADS, thread_name_prefix="webhooks")
    app.state.webhook_executor = executor
    weakref.finalize(app, executor.shutdown, wait=False)  # its threads end with the app (tests make many)
    app.state.webhook_sessions_on_loop = None
    app.state.webhook_sessions_on_thread = app.state.sessions
    if on_sqlite and engine.url.database not in (None, "", ":memory:"):  # another engine: another memory database
        url = engine.url.render_as_string(hide_password=False)
        loop_engine = make_engine(url, sqlite_busy_timeout_ms=0, sqlite_writers_only=True, poolclass=StaticPool)
        thread_engine = make_engine(url, sqlite_writers_only=True, poolclass=StaticPool)  # the one thread's
        app.state.webhook_sessions_on_loop = make_sessionmaker(loop_engine)
        app.state.webhook_sessions_on_thread = make_sessionmaker(thread_engine)
        weakref.finalize(app, loop_engine.dispose)
        weakref.finalize(app, thread_engine.dispose)


async def in_transaction(request: Request, work: Callable[[Session], T]) -> T:
    """`work(db)` in one transaction, committed when it returns, rolled back if it raises.

    `work` may run more than once (on SQLite, when its first attempt found the database locked; after a unique
    index refused what a concurrent copy of the same webhook had just written): it must only touch the database.
    """
    try:
        return await _attempt(request, work)
    except IntegrityError:
        return await _attempt(request, work)


async def _attempt(request: Request, work: Callable[[Session], T]) -> T:
    state = request.app.state
    loop = asyncio.get_running_loop()
    if state.webhook_sessions_on_loop is not None:
        give_up_at = loop.time() + LOOP_WAIT
        while True:
            try:
                return _run(state.webhook_sessions_on_loop, work)
            except OperationalError as error:
                if not _is_busy(error):
                    raise
            if loop.time() >= give_up_at:
                break
            await asyncio.sleep(RETRY_EVERY)
    return await loop.run_in_executor(state.webhook_executor, _run, state.webhook_sessions_on_thread, work)


def _run(sessions: sessionmaker[Session], work: Callable[[Session], T]) -> T:
    with transaction(sessions) as db:
        return work(db)


def _is_busy(error: OperationalError) -> bool:
    return isinstance(error.orig, sqlite3.OperationalError) and error.orig.sqlite_errorcode == sqlite3.SQLITE_BUSY
