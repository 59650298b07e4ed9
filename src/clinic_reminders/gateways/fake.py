"""An in-memory Twilio for the dispatcher: what `TwilioGateway` does on the dispatch path, with no server.

Like procrastinate's in-memory connector, it implements the narrow interface (`DispatchGateway`) for real: the
worker runs unchanged against it and reconciliation lists what it holds, as Twilio's lists would. A test reads
what was sent (`texts`, `calls`), and makes Twilio misbehave on demand: refuse the next requests (`fail_next`),
act on them and lose the answer (`lose_next_answers`), or keep the answers until it lets them go (`hold`,
`release`: Twilio has the message, the worker has not heard yet). It sends no status callbacks: a test hands
them to `conversations.delivery.handle` itself. The simulator (simulator/) stays the stand-in on the wire:
the SDK's requests, signatures and webhooks.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from ..models.base import utcnow
from .dispatching import DispatchGateway
from .errors import TwilioError, from_transport_error
from .records import CallRecord, MessageRecord, PlacedCall, SentMessage

FAKE_ACCOUNT_SID = "AC" + "fa" * 16


@dataclass(frozen=True)
class FakeText:
    sid: str
    to: str = field(repr=False)
    from_: str | None = field(repr=False)
    body: str = field(repr=False)
    status_callback: str | None
    validity_period: int | None
    messaging_service_sid: str | None
    created_at: datetime


@dataclass(frozen=True)
class FakeCall:
    sid: str
    to: str = field(repr=False)
    from_: str = field(repr=False)
    url: str
    status_callback: str | None
    machine_detection: str | None
    created_at: datetime


class FakeGateway(DispatchGateway):
    def __init__(self, account_sid: str = FAKE_ACCOUNT_SID, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.account_sid = account_sid
        self.clock = clock
        self.texts: list[FakeText] = []
        self.calls: list[FakeCall] = []
        self._refusals: deque[TwilioError] = deque()
        self._answers_to_lose = 0
        self._answering = asyncio.Event()
        self._answering.set()
        self._serial = itertools.count(1)

    # --- what a test asks of it ----------------------------------------------------------------------------

    def fail_next(self, *errors: TwilioError) -> None:
        """The next requests (texts or calls) are refused with these errors, one each: nothing is sent."""
        self._refusals.extend(errors)

    def lose_next_answers(self, count: int = 1) -> None:
        """The next `count` requests are sent, but their answers never arrive: the caller sees a timeout."""
        self._answers_to_lose += count

    def hold(self) -> None:
        """From now on, every request waits for `release` before it is answered (a text or call is sent first)."""
        self._answering.clear()

    def release(self) -> None:
        self._answering.set()

    # --- DispatchGateway -----------------------------------------------------------------------------------

    async def send_sms(
        self,
        to: str,
        from_: str | None,
        body: str,
        *,
        status_callback: str | None = None,
        validity_period: int | None = None,
        messaging_service_sid: str | None = None,
    ) -> SentMessage:
        if not from_ and not messaging_service_sid:
            raise ValueError("send_sms needs a From number or a Messaging Service")
        self._refuse_if_told()
        text = FakeText(
            self._sid("SM"), to, from_, body, status_callback, validity_period, messaging_service_sid, self.clock()
        )
        self.texts.append(text)
        await self._answer()
        return SentMessage(sid=text.sid, status="queued", date_created=text.created_at)

    async def place_call(
        self,
        to: str,
        from_: str,
        url: str,
        *,
        status_callback: str | None = None,
        machine_detection: str | None = "Enable",
    ) -> PlacedCall:
        self._refuse_if_told()
        call = FakeCall(self._sid("CA"), to, from_, url, status_callback, machine_detection, self.clock())
        self.calls.append(call)
        await self._answer()
        return PlacedCall(sid=call.sid, status="queued")

    async def list_messages(
        self, *, to: str | None = None, from_: str | None = None, limit: int = 200
    ) -> list[MessageRecord]:
        """Newest first, as Twilio lists them."""
        await self._answering.wait()
        found = [t for t in reversed(self.texts) if to in (None, t.to) and from_ in (None, t.from_)]
        return [
            MessageRecord(
                sid=t.sid,
                status="queued",
                direction="outbound-api",
                to=t.to,
                from_=t.from_ or "",
                body=t.body,
                date_created=t.created_at,
            )
            for t in found[:limit]
        ]

    async def list_calls(
        self, *, to: str | None = None, from_: str | None = None, started_after: datetime | None = None
    ) -> list[CallRecord]:
        await self._answering.wait()
        found = [
            c
            for c in reversed(self.calls)
            if to in (None, c.to)
            and from_ in (None, c.from_)
            and (started_after is None or c.created_at >= started_after)
        ]
        return [
            CallRecord(
                sid=c.sid,
                status="queued",
                direction="outbound-api",
                to=c.to,
                from_=c.from_,
                start_time=c.created_at,
                date_created=c.created_at,
            )
            for c in found
        ]

    async def aclose(self) -> None:
        """Nothing to close: no connections."""

    # --- inside --------------------------------------------------------------------------------------------

    def _sid(self, prefix: str) -> str:
        return f"{prefix}{next(self._serial):032x}"

    def _refuse_if_told(self) -> None:
        if self._refusals:
            raise self._refusals.popleft()

    async def _answer(self) -> None:
        await self._answering.wait()
        if self._answers_to_lose:
            self._answers_to_lose -= 1
            raise from_transport_error(TimeoutError())
