"""The worker's database lane: one unit of database work at a time, lease proofs before the others.

A send holds its account's slot while its lease is proven (nothing may be awaited between the proof and the
request, see fence.py), so a proof that waits behind a claim or a batch of outcomes leaves a slot idle. Units
wait in the order they came, except that proofs go before the others; a running unit is never interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import AsyncIterator

PROOF, OTHER = 0, 1


class Lane:
    def __init__(self) -> None:
        self._busy = False
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @contextlib.asynccontextmanager
    async def turn(self, priority: int = OTHER) -> AsyncIterator[None]:
        if self._busy:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            heapq.heappush(self._waiting, (priority, next(self._order), future))
            try:
                await future
            except asyncio.CancelledError:
                if future.done() and not future.cancelled():
                    self._hand_on()  # the turn came as the waiter was cancelled: the next one takes it
                raise  # a cancelled future left waiting is skipped by `_hand_on`
        self._busy = True
        try:
            yield
        finally:
            self._hand_on()

    def _hand_on(self) -> None:
        while self._waiting:
            _, _, future = heapq.heappop(self._waiting)
            if not future.done():
                future.set_result(None)  # still busy: the lane passes straight to that waiter
                return
        self._busy = False
