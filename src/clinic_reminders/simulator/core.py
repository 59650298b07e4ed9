"""The simulator object: configuration, state, webhook sender and background tasks, shared by every surface
(REST API, inspection API, phone page)."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Coroutine
from typing import Any

from ..messaging.segments import count_segments
from .calls import CallEngine
from .config import SimulatorConfig
from .magic import DELIVERY_FAILURES
from .seeding import seeded_store
from .senders import carrier_block
from .state import Account, Message, Store, new_sid, now
from .webhooks import WebhookSender, run_message_lifecycle

log = logging.getLogger(__name__)


def segments(body: str) -> int:
    """Segments as Twilio counts them (messaging/segments.py: one counter for the service and its simulator)."""
    return max(1, count_segments(body).segments)


class Simulator:
    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.initial_config = config or SimulatorConfig()
        self.config = self.initial_config
        self.store = Store(self.config)
        self.registry = seeded_store(self.config, self.store.accounts)
        self.webhooks = WebhookSender(self)
        self.calls = CallEngine(self)
        self.random = random.Random(self.config.fault_seed)
        self.in_flight = 0
        self._tasks: set[asyncio.Task[Any]] = set()

    def reset(self, config: SimulatorConfig | None = None) -> None:
        """Forget every message, call, room and alert; go back to `config` (default: the starting one)."""
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        self.config = config or self.initial_config
        self.random = random.Random(self.config.fault_seed)
        self.calls = CallEngine(self)
        self.store.reset(self.config)
        self.registry = seeded_store(self.config, self.store.accounts)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run in the background; the task is kept until done so it is not garbage-collected mid-flight."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("simulator background task failed: %r", task.exception())

    async def settle(self, limit_s: float = 10.0) -> None:
        """Wait until no background work (callbacks, call progress) is pending; for tests and scripts."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit_s
        while self._tasks and loop.time() < deadline:
            await asyncio.wait(set(self._tasks), timeout=deadline - loop.time())

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.webhooks.aclose()

    def record_outbound(
        self,
        account: Account,
        *,
        to: str,
        from_: str,
        body: str,
        direction: str = "outbound-api",
        status_callback: str | None = None,
        validity_period: int | None = None,
        messaging_service_sid: str | None = None,
    ) -> Message:
        """A message leaving Twilio: stored as queued, then moved along by status callbacks in the background.

        It fails as the recipient's magic number says, or as carriers filter an unregistered sender."""
        moment = now()
        message = Message(
            sid=new_sid("SM"),
            account_sid=account.sid,
            to=to,
            from_=from_,
            body=body,
            direction=direction,
            status="queued",
            date_created=moment,
            date_updated=moment,
            num_segments=segments(body),
            status_callback=status_callback,
            validity_period=validity_period,
            messaging_service_sid=messaging_service_sid,
        )
        self.store.messages[message.sid] = message
        failure = DELIVERY_FAILURES.get(to)
        if failure is None:
            blocked = carrier_block(self.registry.of(account.sid), account, from_, to)
            failure = None if blocked is None else (blocked, "undelivered")
        if status_callback:
            self.spawn(run_message_lifecycle(self, account, message, failure))
        else:  # nobody listens: timers are far cheaper than a task per message under load
            loop = asyncio.get_running_loop()
            delay = self.config.callback_delay_ms / 1000
            if failure is None:
                loop.call_later(delay, message.move, "sent")
                loop.call_later(2 * delay, message.move, "delivered")
            elif failure[1] == "failed":
                loop.call_later(delay, message.move, "failed", failure[0])
            else:
                loop.call_later(delay, message.move, "sent")
                loop.call_later(2 * delay, message.move, "undelivered", failure[0])
        return message

    def record_inbound(self, account: Account, *, from_: str, to: str, body: str) -> Message:
        moment = now()
        message = Message(
            sid=new_sid("SM"),
            account_sid=account.sid,
            to=to,
            from_=from_,
            body=body,
            direction="inbound",
            status="received",
            date_created=moment,
            date_updated=moment,
            date_sent=moment,
            num_segments=segments(body),
        )
        self.store.messages[message.sid] = message
        return message
