"""Dispatch is never silently gone: a task that dies is logged at once and started again.

`Worker.run` outlives database errors by itself (it backs off and goes on, see `health`); what kills it anyway
is a bug. The log then says what died, the exception's type and where it was raised, never the exception's
text, which may quote a patient's data.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Protocol

from .health import Backoff, describe

log = logging.getLogger(__name__)

TRACEBACK_FRAMES = 8


class Runner(Protocol):
    async def run(self) -> None: ...

    def stop(self) -> None: ...


async def keep_running(
    name: str,
    start: Callable[[], Awaitable[None]],
    stopping: asyncio.Event | None = None,
    backoff: Backoff | None = None,
) -> None:
    """Await `start()` until it returns; each time it raises, log it and call it again after a growing pause
    (reset once it has run for longer than the longest pause)."""
    backoff = backoff or Backoff()
    while stopping is None or not stopping.is_set():
        started = time.monotonic()
        try:
            await start()
            return
        except Exception as error:
            if time.monotonic() - started > backoff.longest:
                backoff.reset()
            delay = backoff.next()
            log.error("%s died: %s; starting it again in %.0f s\n%s", name, describe(error), delay, where(error))
            if stopping is None:
                await asyncio.sleep(delay)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), delay)


def where(error: BaseException) -> str:
    """The innermost frames of the traceback (file, line, function, code), without the exception's text."""
    frames = traceback.extract_tb(error.__traceback__)[-TRACEBACK_FRAMES:]
    return "".join(traceback.format_list(frames)).rstrip()


class Supervised:
    """A runner as `reminders serve` and `reminders worker` run it: replaced by a new one if it ever dies."""

    def __init__(self, name: str, new_runner: Callable[[], Runner], backoff: Backoff | None = None) -> None:
        self.name = name
        self._new_runner = new_runner
        self._backoff = backoff
        self._runner: Runner | None = None
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()
        if self._runner is not None:
            self._runner.stop()

    async def run(self) -> None:
        await keep_running(self.name, self._run_one, self._stopping, self._backoff)

    async def _run_one(self) -> None:
        self._runner = self._new_runner()
        await self._runner.run()


class Dispatcher(Supervised):
    """The dispatch worker, supervised (the dead one's leases run out, and whichever worker takes its reminders
    over reconciles them with Twilio)."""

    def __init__(self, new_worker: Callable[[], Runner], backoff: Backoff | None = None) -> None:
        super().__init__("the dispatcher", new_worker, backoff)
