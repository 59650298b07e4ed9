"""Which offices the dispatcher sends for, and each one's way to Twilio: its configuration, its account's gateway
and that account's concurrency cap.

Every office sends through its own account (`effective.twilio_config`: the environment over the office's row).
The configurations are read again every CONFIG_TTL seconds. Offices on the same account share one `Account`: its
gateway (a warm connection pool, kept while the credentials stay the same and closed once they change and its
last request is over) and its cap on requests in flight. Nothing here has to agree between workers: each reads
the database itself, and each worker's cap is its share of the account's (as REMINDERS_SENDER_RATE is of a
sender's pace).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import ColumnElement, SQLColumnExpression, select
from sqlalchemy.orm import Session

from ..crypto import DecryptionError
from ..effective import NotConfigured, TwilioConfig, twilio_config
from ..gateways.dispatching import DispatchGateway
from ..models import Office
from ..offices import ACTIVE_OFFICE_IDS
from ..settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
RunDb = Callable[[Callable[[Session], T]], Awaitable[T]]

CONFIG_TTL = 30.0


def sending(office_id: SQLColumnExpression[int]) -> ColumnElement[bool]:
    """The one place that says whose reminders go out: those of offices not suspended by the operator (claims,
    `worker --once` and the configurations read here all ask it)."""
    return office_id.in_(ACTIVE_OFFICE_IDS)


@dataclass(eq=False)
class Account:
    """One Twilio account as this worker uses it."""

    gateway: DispatchGateway
    slots: asyncio.Semaphore  # requests in flight at most (REMINDERS_TWILIO_CONCURRENCY)
    cap: int
    in_flight: int = 0  # sends handed to tasks and not done yet, waiting for a slot included

    @property
    def room(self) -> int:
        """How many more reminders to claim for it: two per slot keep the slots busy between claims."""
        return 2 * self.cap - self.in_flight


@dataclass(frozen=True)
class OfficeTwilio:
    config: TwilioConfig
    account: Account = field(compare=False)


class Offices:
    def __init__(self, settings: Settings, given: DispatchGateway | None = None) -> None:
        """`given`: the one gateway for every office instead of each one's account (tests)."""
        self.settings = settings
        self._given = given
        self._loaded_at = -CONFIG_TTL
        self._of: dict[int, OfficeTwilio] = {}
        self._accounts: dict[tuple[str | None, ...], Account] = {}
        self._retired: list[Account] = []  # replaced, closed once their last request is over
        self.paused: NotConfigured | None = None  # why an office cannot send, when one cannot

    def of(self, office_id: int) -> OfficeTwilio | None:
        return self._of.get(office_id)

    def with_room(self) -> tuple[list[int], int]:
        """The offices to claim for now (set up, and their account has room), and the most room any has."""
        offices = [office_id for office_id, twilio in self._of.items() if twilio.account.room > 0]
        return offices, max((self._of[office_id].account.room for office_id in offices), default=0)

    def configured(self) -> list[int]:
        return list(self._of)

    async def refresh(self, run_db: RunDb[list[tuple[int, TwilioConfig | NotConfigured]]]) -> None:
        if time.monotonic() - self._loaded_at < CONFIG_TTL:
            return
        configs = await run_db(self._read)
        self._loaded_at = time.monotonic()
        offices: dict[int, OfficeTwilio] = {}
        accounts: dict[tuple[str | None, ...], Account] = {}
        self.paused = None
        for office_id, config in configs:
            try:
                if isinstance(config, NotConfigured):
                    raise config
                key = ("given",) if self._given else (config.account_sid, config.auth_token, config.base_url)
                account = accounts.get(key) or self._accounts.get(key) or self._open(config)
            except NotConfigured as exc:
                log.warning("dispatch paused for office %d: %s", office_id, exc)
                self.paused = self.paused or exc
                continue
            accounts[key] = account
            offices[office_id] = OfficeTwilio(config, account)
        self._retired += [account for key, account in self._accounts.items() if key not in accounts]
        self._of, self._accounts = offices, accounts
        await self._close_idle()

    def _read(self, db: Session) -> list[tuple[int, TwilioConfig | NotConfigured]]:
        configs: list[tuple[int, TwilioConfig | NotConfigured]] = []
        for office in db.scalars(select(Office).where(sending(Office.id)).order_by(Office.id)):
            try:
                configs.append((office.id, twilio_config(self.settings, office)))
            except DecryptionError:
                configs.append((office.id, NotConfigured("the saved Twilio secret cannot be read (secret key)")))
        return configs

    def _open(self, config: TwilioConfig) -> Account:
        cap = self.settings.twilio_concurrency
        gateway = self._given or config.gateway(timeout=self.settings.twilio_timeout, max_connections=cap)
        return Account(gateway, asyncio.Semaphore(cap), cap)

    async def _close_idle(self) -> None:
        idle = [account for account in self._retired if account.in_flight == 0]
        self._retired = [account for account in self._retired if account.in_flight]
        for account in idle:
            if account.gateway is not self._given:
                await account.gateway.aclose()

    async def aclose(self) -> None:
        self._retired += self._accounts.values()
        self._of, self._accounts = {}, {}
        for account in self._retired:
            if account.gateway is not self._given:
                await account.gateway.aclose()
        self._retired = []
