"""The dispatch loop: claim, prepare, send concurrently, record; reconcile what others left behind.

Database work is synchronous SQLAlchemy run in a thread, one unit at a time per worker (SQLite has a single
writer anyway); Twilio requests are asyncio tasks on the SDK's aiohttp client, bounded by a semaphore below
Twilio's concurrency limit. Batching (one transaction per claim and per set of results) is what lets one small
worker keep hundreds of requests in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..accounts import the_office
from ..db import transaction
from ..effective import NotConfigured, TwilioConfig, twilio_config
from ..gateways import ErrorAction, TwilioError, TwilioGateway
from ..models import Channel, DeliveryEvent, Message, Reminder, utcnow
from ..settings import Settings
from . import metrics, reconcile
from .leases import claim_due, renew, take_over_abandoned, unfinished
from .outcomes import Failed, Outcome, Sent, Unknown, is_unknown, record_failure, record_sent
from .pacing import Pacer, pace_key
from .prepare import Preparer, SendJob, load

log = logging.getLogger(__name__)
T = TypeVar("T")

UNKNOWN_RECHECK = timedelta(seconds=5)  # how long to wait before asking Twilio about an unknown outcome
RECONCILE_EVERY = 5.0
CONFIG_TTL = 30.0


class Worker:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        *,
        batch_size: int = 200,
        poll_interval: float = 1.0,
        worker_id: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.clock = clock  # tests pin "now"; everything time-dependent reads it
        self.sessions = sessions
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lease = timedelta(seconds=settings.lease_seconds)
        self.pacer = Pacer(settings.sender_rate, settings.sender_rates)
        self.started_at = clock()
        self._semaphore = asyncio.Semaphore(settings.twilio_concurrency)
        self._db_lock = asyncio.Lock()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._results: list[tuple[SendJob, Outcome]] = []
        self._config: tuple[float, TwilioConfig, TwilioGateway | None] | None = None
        self._last_reconcile = 0.0
        self._paused: NotConfigured | None = None  # why there is no gateway, when there is none
        self._stopping = asyncio.Event()

    # --- running -------------------------------------------------------------------------------------------

    def stop(self) -> None:
        self._stopping.set()

    async def run(self, *, once: bool = False) -> None:
        """Dispatch until stopped; with `once`, until nothing due is left and every send is recorded.

        With `once`, raises `NotConfigured` when reminders are due and Twilio is not set up to send them."""
        await self._db(self._heartbeat)
        beat = asyncio.create_task(self._heartbeat_loop())
        try:
            while not self._stopping.is_set():
                busy = await self.tick()
                idle = not busy and not self._in_flight and not self._results
                if once and idle and not await self._db(lambda db: unfinished(db, self.clock())):
                    break
                if once and self._paused is not None:
                    raise self._paused
                if not busy:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), self.poll_interval)
            await self._drain()
        finally:
            beat.cancel()
            gateway = self._config[2] if self._config else None
            if gateway is not None:
                await gateway.aclose()

    async def tick(self) -> bool:
        """One round; returns True when there was work (so the loop should not sleep)."""
        await self._flush_results()
        config, gateway = await self._twilio()
        if gateway is None:
            return False
        busy = False
        if time.monotonic() - self._last_reconcile >= RECONCILE_EVERY:
            self._last_reconcile = time.monotonic()
            busy = await self._reconcile(gateway) or busy
        room = 2 * self.settings.twilio_concurrency - len(self._in_flight)
        if room > 0:
            jobs = await self._db(lambda db: self._claim_and_prepare(db, config, min(room, self.batch_size)))
            for job in jobs:
                task = asyncio.create_task(self._send(gateway, job))
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)
            busy = busy or bool(jobs)
        if self._in_flight:
            await asyncio.wait(self._in_flight, timeout=0.05, return_when=asyncio.FIRST_COMPLETED)
            busy = True
        return busy or bool(self._results)

    async def _drain(self) -> None:
        if self._in_flight:
            await asyncio.wait(self._in_flight)
        await self._flush_results()

    # --- steps ---------------------------------------------------------------------------------------------

    async def _db(self, work: Callable[[Session], T]) -> T:
        async with self._db_lock:
            return await asyncio.to_thread(self._in_transaction, work)

    def _in_transaction(self, work: Callable[[Session], T]) -> T:
        with transaction(self.sessions) as db:
            return work(db)

    async def _twilio(self) -> tuple[TwilioConfig, TwilioGateway | None]:
        if self._config is None or time.monotonic() - self._config[0] > CONFIG_TTL:
            config = await self._db(lambda db: twilio_config(self.settings, the_office(db)))
            old = self._config[2] if self._config else None
            try:
                gateway = config.gateway(
                    timeout=self.settings.twilio_timeout, max_connections=self.settings.twilio_concurrency
                )
                self._paused = None
            except NotConfigured as exc:
                log.warning("dispatch paused: %s", exc)
                gateway, self._paused = None, exc
            if old is not None and (gateway is None or old.account_sid != gateway.account_sid):
                await old.aclose()
            elif old is not None:
                gateway = old  # same account: keep the warm connection pool
            self._config = (time.monotonic(), config, gateway)
        return self._config[1], self._config[2]

    def _claim_and_prepare(self, db: Session, config: TwilioConfig, limit: int) -> list[SendJob]:
        now = self.clock()
        ids = claim_due(db, self.worker_id, now, self.lease, limit)
        if not ids:
            return []
        jobs = Preparer(db, self.settings, config, self.pacer, now).run(load(db, ids))
        metrics.CLAIMED.inc(len(ids))
        return jobs

    async def _send(self, gateway: TwilioGateway, job: SendJob) -> None:
        delay = job.not_before - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        async with self._semaphore:
            started = time.monotonic()
            outcome: Outcome
            try:
                if job.channel == Channel.SMS:
                    sms = await gateway.send_sms(
                        job.to,
                        job.from_,
                        job.body,
                        status_callback=job.status_callback,
                        validity_period=job.validity_period,
                        messaging_service_sid=job.messaging_service_sid,
                    )
                    outcome = Sent(sms.sid, sms.status, sms.num_segments)
                else:
                    call = await gateway.place_call(
                        job.to,
                        job.from_,
                        job.body,
                        status_callback=job.status_callback,
                        machine_detection="DetectMessageEnd",
                    )
                    outcome = Sent(call.sid, call.status)
            except TwilioError as error:
                outcome = Unknown(error) if is_unknown(error) else Failed(error)
                if error.action == ErrorAction.SLOW_DOWN:
                    rate = self.pacer.slow_down(pace_key(job.channel, job.from_))
                    log.warning(
                        "Twilio's queue for %s is full (%s): paced down to %.3g a second", job.from_, error.code, rate
                    )
            metrics.TWILIO_LATENCY.observe(time.monotonic() - started)
        self._results.append((job, outcome))

    async def _flush_results(self) -> None:
        if not self._results:
            return
        batch, self._results = self._results, []
        await self._db(lambda db: self._record(db, batch))

    def _record(self, db: Session, batch: list[tuple[SendJob, Outcome]]) -> None:
        now = self.clock()
        reminders = {
            r.id: r for r in db.scalars(select(Reminder).where(Reminder.id.in_([j.reminder_id for j, _ in batch])))
        }
        messages = {
            m.id: m for m in db.scalars(select(Message).where(Message.id.in_([j.message_id for j, _ in batch])))
        }
        sids = [outcome.sid for _, outcome in batch if isinstance(outcome, Sent)]
        early = set(
            db.scalars(
                select(DeliveryEvent.twilio_sid).where(
                    DeliveryEvent.twilio_sid.in_(sids), DeliveryEvent.message_id.is_(None)
                )
            )
        )  # status callbacks that arrived before we recorded the SID
        for job, outcome in batch:
            reminder, message = reminders[job.reminder_id], messages[job.message_id]
            if isinstance(outcome, Sent):
                record_sent(db, reminder, message, outcome, now, callbacks_waiting=outcome.sid in early)
                metrics.SENT.labels(channel=job.channel).inc()
            elif isinstance(outcome, Failed):
                record_failure(db, reminder, message, outcome.error, now)
                metrics.FAILED.labels(kind=outcome.error.kind.value, code=str(outcome.error.code or "")).inc()
            else:
                # Release the lease so that it expires soon and reconciliation (by any worker) looks at Twilio.
                reminder.lease_owner = None
                reminder.lease_expires_at = now + UNKNOWN_RECHECK
                reminder.reason = f"checking with Twilio: {outcome.error.reason}"
                metrics.UNKNOWN.inc()

    async def _reconcile(self, gateway: TwilioGateway) -> bool:
        def take_over(db: Session) -> list[reconcile.Lookup]:
            now = self.clock()
            ids = take_over_abandoned(db, self.worker_id, now, self.lease, self.batch_size)
            return reconcile.lookups_for(db, ids, now) if ids else []

        lookups = await self._db(take_over)
        if not lookups:
            return False
        found = await asyncio.gather(*(self._look_up(gateway, lookup) for lookup in lookups))

        def apply(db: Session) -> None:
            now = self.clock()
            for lookup, candidates in zip(lookups, found, strict=True):
                if candidates is None:  # Twilio could not be asked: try again at the next round
                    reminder = db.get(Reminder, lookup.reminder_id)
                    assert reminder is not None
                    reminder.lease_owner = None
                    reminder.lease_expires_at = now + UNKNOWN_RECHECK
                elif reconcile.apply(db, lookup, candidates, now):
                    metrics.RECONCILED.labels(found="yes").inc()
                else:
                    metrics.RECONCILED.labels(found="no").inc()

        await self._db(apply)
        return True

    async def _look_up(self, gateway: TwilioGateway, lookup: reconcile.Lookup) -> list[Sent] | None:
        async with self._semaphore:
            try:
                return await reconcile.find_at_twilio(gateway, lookup)
            except TwilioError as error:
                log.warning("reconciliation lookup failed: %s", error)
                return None

    # --- heartbeat -----------------------------------------------------------------------------------------

    def _heartbeat(self, db: Session) -> None:
        renew(db, self.worker_id, self.clock(), self.lease, self.started_at)

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_seconds)
            try:
                await self._db(self._heartbeat)
            except Exception:  # a database hiccup must not kill the worker; the next beat retries
                log.exception("heartbeat failed")
