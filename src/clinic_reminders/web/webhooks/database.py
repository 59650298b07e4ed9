"""Where the webhooks run their one short transaction: on threads of their own, a single one on SQLite.

SQLite takes one writer at a time, and a writer that finds the database locked sleeps in SQLite's busy handler
(1 ms, then longer) before it tries again. Queuing the webhooks' transactions on one thread costs far less than
letting many threads collide: `reminders bench webhook` went from 176 to 247 requests/s with this alone.
PostgreSQL takes many writers at once, so it gets several threads.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from fastapi import FastAPI, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ...db import transaction

T = TypeVar("T")
POSTGRES_THREADS = 8


def install(app: FastAPI, engine: Engine) -> None:
    threads = 1 if engine.dialect.name == "sqlite" else POSTGRES_THREADS
    executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="webhooks")
    app.state.webhook_executor = executor
    weakref.finalize(app, executor.shutdown, wait=False)  # its threads end with the app (tests make many)


async def in_transaction(request: Request, work: Callable[[Session], T]) -> T:
    """`work(db)` in one transaction, committed when it returns, rolled back if it raises."""
    sessions = request.app.state.sessions

    def run() -> T:
        with transaction(sessions) as db:
            return work(db)

    return await asyncio.get_running_loop().run_in_executor(request.app.state.webhook_executor, run)
