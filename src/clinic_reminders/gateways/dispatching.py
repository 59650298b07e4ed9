"""The part of Twilio the dispatcher uses: send a text, place a call, and list both to reconcile.

`TwilioGateway` is it on the wire; `FakeGateway` (gateways/fake.py) is it in memory, for tests of the worker
that need no server.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from .records import CallRecord, MessageRecord, PlacedCall, SentMessage


class DispatchGateway(Protocol):
    account_sid: str

    async def send_sms(
        self,
        to: str,
        from_: str | None,
        body: str,
        *,
        status_callback: str | None = None,
        validity_period: int | None = None,
        messaging_service_sid: str | None = None,
    ) -> SentMessage: ...

    async def place_call(
        self, to: str, from_: str, url: str, *, status_callback: str | None = None, machine_detection: str | None = ...
    ) -> PlacedCall: ...

    async def list_messages(
        self, *, to: str | None = None, from_: str | None = None, limit: int = 200
    ) -> list[MessageRecord]: ...

    async def list_calls(
        self, *, to: str | None = None, from_: str | None = None, started_after: datetime | None = None
    ) -> list[CallRecord]: ...

    async def aclose(self) -> None: ...
