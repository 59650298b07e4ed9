"""The last check before a text or call goes to Twilio: does this worker still hold the reminder's lease?

Sends become ready one at a time (a slot frees as each request ends), and one round trip to the database per
send would show in the throughput. `Fence.check` waits a few milliseconds for others to become ready, then
proves all their leases in one statement (`leases.prove`, which also extends them). Proofs run one at a time:
the sends that become ready while one runs (or waits for the database) share the next.

A proof counts only while it is fresh: when more than `fresh_for` seconds (monotonic clock) passed between the
reading of the clock the proof extended the lease from and the moment the sender gets the answer, the worker
was paused or the database slow on the way, and the lease may already have run out. The reminder is then
handed back rather than sent (docs/architecture.md, "Fencing", says why this bound is enough).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from enum import Enum

from . import metrics
from .leases import Lease

log = logging.getLogger(__name__)

BATCH_WINDOW = 0.002  # seconds a proof waits for others to share its statement

# Proves a batch of leases: the ids still held, and the monotonic time the clock was read for the proof.
ProveBatch = Callable[[list[Lease]], Awaitable[tuple[set[int], float]]]


class Proof(Enum):
    HELD = "held"  # send now: nothing may be awaited between this answer and the request
    LOST = "lost"  # another worker has the reminder: send nothing, write nothing
    LATE = "late"  # held, but the proof came too late to rely on: hand the reminder back unsent


class Fence:
    def __init__(self, prove: ProveBatch, *, fresh_for: float, window: float = BATCH_WINDOW) -> None:
        self._prove = prove
        self.fresh_for = fresh_for
        self.window = window
        self._waiting: list[tuple[Lease, asyncio.Future[tuple[bool, float]]]] = []
        self._batch: asyncio.Task[None] | None = None  # the proof that gathers the sends waiting now
        self._running: set[asyncio.Task[None]] = set()  # a task the loop alone refers to may be collected
        self._proving = asyncio.Lock()

    async def check(self, lease: Lease) -> Proof:
        """Raises the database's error when the proof could not be made (nothing was sent then either)."""
        future: asyncio.Future[tuple[bool, float]] = asyncio.get_running_loop().create_future()
        self._waiting.append((lease, future))
        if self._batch is None:
            self._batch = asyncio.create_task(self._prove_soon(), name="lease proofs")
            self._running.add(self._batch)
            self._batch.add_done_callback(self._running.discard)
        held, read_at = await future
        if not held:
            return Proof.LOST
        return Proof.HELD if time.monotonic() - read_at <= self.fresh_for else Proof.LATE

    async def _prove_soon(self) -> None:
        await asyncio.sleep(self.window)
        async with self._proving:
            batch, self._waiting, self._batch = self._waiting, [], None
            try:
                held, read_at = await self._prove([lease for lease, _ in batch])
            except Exception as error:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                return
        lost = 0
        for lease, future in batch:
            lost += lease.reminder_id not in held
            if not future.done():
                future.set_result((lease.reminder_id in held, read_at))
        if lost:
            metrics.FENCED.labels(at="send").inc(lost)
            log.warning(
                "%d of %d reminders were taken over by another worker while this one waited to send them "
                "(it was paused or slow past its lease): not sent",
                lost,
                len(batch),
            )
