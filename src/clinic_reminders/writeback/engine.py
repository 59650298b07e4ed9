"""The write-back engine: fan the outbox out into deliveries, claim those due, send each in a thread, record.

It runs as an asyncio task of its own beside the dispatcher (`reminders worker`, and the dispatcher embedded in
`reminders serve`), supervised like it (`dispatcher.supervisor.Supervised`). Database work runs in a thread of its
own, one unit at a time; every destination has its own small pool of threads (`writeback_concurrency`) in which
its transport's synchronous `send` runs, and the engine stops waiting after the destination's timeout. So a slow
or broken destination fills only its own threads: other destinations go on, and neither the dispatcher nor the
web app shares a thread with a send. A database error does not end the loop: it is logged without patient data,
and the round is tried again after a growing pause.

A destination whose sends failed three times in a row is down: it gets one attempt at a time, `retry_first` apart
(each delivery still keeps its own backoff), rather than hundreds of retries at once. When it answers again, its
deliveries waiting out a backoff are due at once (`outcomes.hurry`): after an outage the backlog goes out when
the receiver is back, not when each delivery's pause ends.

`retry` and `resume` are what staff do from the pages: send one delivery again, end a destination's pause.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ..crypto import DecryptionError, SecretBox
from ..db import transaction
from ..dispatcher.health import Backoff, describe
from ..dispatcher.supervisor import Supervised, where
from ..models import Delivery, DeliveryStatus, Destination, Event, utcnow
from ..settings import Settings
from . import claims, fanout, metrics, outcomes, payload, registry
from .backoff import RetryPolicy
from .claims import Claim
from .outcomes import Delivered, Failed, Outcome
from .transports import DeliveryFailed, DestinationConfig, Payload, Transport

log = logging.getLogger(__name__)
T = TypeVar("T")

DOWN_AFTER = 3  # failures in a row after which an answer means "back up" (see `outcomes.hurry`)
WAIT_BEYOND_TIMEOUT = 1.0  # seconds the engine waits for a send past the destination's timeout
BATCH_WINDOW = 0.003  # seconds for other sends to end after one did, so that one transaction records them all


def retry(db: Session, delivery: Delivery, now: datetime | None = None) -> None:
    """ "Send again": the delivery is pending and due now, with a new retry window (from its next attempt on).
    It still waits for its turn behind earlier undelivered deliveries of its appointment."""
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = now or utcnow()
    delivery.first_attempt_at = None
    delivery.delivered_at = None


def resume(db: Session, destination: Destination, now: datetime | None = None) -> int:
    """End a destination's pause: its failed deliveries are sent again (they hold their appointments' later
    events back), each with a new retry window, and what happened during the pause is fanned out. Returns how
    many failed deliveries were sent again."""
    destination.paused_at = None
    destination.paused_reason = None
    result = db.execute(
        update(Delivery)
        .where(Delivery.destination_id == destination.id, Delivery.status == DeliveryStatus.FAILED)
        .values(status=DeliveryStatus.PENDING, next_attempt_at=now or utcnow(), first_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class Job:
    claim: Claim
    destination_id: int
    kind: str
    config: DestinationConfig
    payload: Payload
    timeout: float


class Lane:
    """One destination's threads; a send the engine stopped waiting for still holds its thread until it ends."""

    def __init__(self, destination_id: int, size: int) -> None:
        self.size = size
        self.pool = ThreadPoolExecutor(size, thread_name_prefix=f"writeback-{destination_id}")
        self.running: set[Future[str]] = set()

    def free(self) -> int:
        self.running = {future for future in self.running if not future.done()}
        return self.size - len(self.running)

    def submit(self, transport: Transport, job: Job) -> Future[str]:
        future = self.pool.submit(transport.send, job.config, job.payload, timeout=job.timeout)
        self.running.add(future)
        return future


class Engine:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        *,
        poll_interval: float = 0.5,
        worker_id: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        transport_for: Callable[[str], Transport] = registry.transport_for,
    ) -> None:
        """`clock`: what "now" is for leases, retries and the retry window (tests run it fast)."""
        self.settings = settings
        self.sessions = sessions
        self.poll_interval = poll_interval
        self.clock = clock
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.policy = RetryPolicy.of(
            settings.writeback_retry_first, settings.writeback_retry_longest, settings.writeback_retry_window
        )
        self.settle = timedelta(seconds=settings.writeback_settle_seconds)
        self._box = SecretBox(settings.secret_key_value)
        self._transport_for = transport_for
        self._transports: dict[str, Transport] = {}
        self._db_thread = ThreadPoolExecutor(1, thread_name_prefix="writeback-db")
        self._lanes: dict[int, Lane] = {}
        self._serial = itertools.count(1)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._results: list[tuple[Claim, Outcome]] = []
        self._streaks: dict[int, int] = {}  # failures in a row, by destination
        self._probe_at: dict[int, float] = {}  # when a destination that is down may be tried next (monotonic)
        self._back_up: set[int] = set()  # destinations that answered after an outage
        self._next_fan_out = 0.0
        self._next_claim = 0.0
        self._stopping = asyncio.Event()
        self._backoff = Backoff()
        self._failing_since: datetime | None = None

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Deliver until stopped; then wait for the sends on their way and record them."""
        log.info("write-back delivery started")
        try:
            while not self._stopping.is_set():
                try:
                    busy = await self.tick()
                except SQLAlchemyError as error:
                    await self._wait_after(error)
                    continue
                self._recovered()
                if not busy:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), self.poll_interval)
            await self._drain()
        finally:
            for lane in self._lanes.values():
                lane.pool.shutdown(wait=False, cancel_futures=True)
            self._db_thread.shutdown(wait=False)

    async def tick(self) -> bool:
        """One round: record outcomes, fan out and claim in one write transaction (on SQLite every writer waits
        for the one lock: one transaction a round, not three), then build the payloads and start the sends."""
        batch, self._results = self._results, []
        back_up, self._back_up = self._back_up, set()
        now = time.monotonic()
        fan_out = now >= self._next_fan_out
        claim = bool(batch) or now >= self._next_claim
        if fan_out:
            self._next_fan_out = now + self.poll_interval
        room = self._room()

        def write(db: Session) -> tuple[int, set[int] | None, list[tuple[Destination, float, list[Claim]]]]:
            made = fanout.fan_out(db, self.clock(), self.settle) if fan_out else 0  # its reads before any write
            if batch:
                self._record(db, batch, back_up)
            if not (claim or made):
                return made, None, []
            self._next_claim = time.monotonic() + self.poll_interval
            active, claimed = self._claim(db, room)
            return made, active, claimed

        try:
            made, active, claimed = await self._db(write)
        except BaseException:
            self._results[:0] = batch  # recorded next round (their leases may run out: then they go again)
            self._back_up |= back_up
            raise
        if active is not None:
            self._retire_lanes(active)
        jobs, failures = await self._db(lambda db: self._prepare(db, claimed)) if claimed else ([], [])
        self._results += failures
        for job in jobs:
            task = asyncio.create_task(self._send(job))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        if self._in_flight:
            await asyncio.wait(self._in_flight, timeout=0.05, return_when=asyncio.FIRST_COMPLETED)
            await asyncio.sleep(BATCH_WINDOW)  # sends that end together are recorded together
        return bool(made or jobs or self._in_flight or self._results)

    # --- database ----------------------------------------------------------------------------------------

    async def _db(self, work: Callable[[Session], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._db_thread, self._in_transaction, work)

    def _in_transaction(self, work: Callable[[Session], T]) -> T:
        with transaction(self.sessions) as db:
            if db.get_bind().dialect.name == "postgresql":
                # A commit lost in a crash costs a send again at most (at least once); no flush to disk waited for.
                db.execute(text("SET LOCAL synchronous_commit TO OFF"))
            return work(db)

    async def _wait_after(self, error: SQLAlchemyError) -> None:
        self._failing_since = self._failing_since or utcnow()
        delay = self._backoff.next()
        log.warning("write-back: the database failed: %s; trying again in %.0f s", describe(error), delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), delay)

    def _recovered(self) -> None:
        if self._failing_since is not None:
            log.warning(
                "write-back: the database answers again (it failed from %s UTC)", f"{self._failing_since:%H:%M:%S}"
            )
            self._failing_since = None
            self._backoff.reset()

    # --- claims ------------------------------------------------------------------------------------------

    def _lane(self, destination_id: int) -> Lane:
        lane = self._lanes.get(destination_id)
        if lane is None:
            lane = self._lanes[destination_id] = Lane(destination_id, self.settings.writeback_concurrency)
        return lane

    def _retire_lanes(self, active: set[int]) -> None:
        """The threads of destinations no longer active, once their last send has ended."""
        for destination_id in [i for i, lane in self._lanes.items() if i not in active and lane.free() == lane.size]:
            self._lanes.pop(destination_id).pool.shutdown(wait=False)

    def _timeout(self, destination: Destination) -> float:
        value = destination.settings.get("timeout")
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return float(value)
        return self.settings.writeback_timeout

    def _room(self) -> dict[int, int]:
        """How many sends each known destination may start now. One that is down (DOWN_AFTER failures in a row)
        gets one attempt at a time, `retry_first` apart, rather than every delivery retried on its own."""
        room = {}
        now = time.monotonic()
        for destination_id, lane in self._lanes.items():
            free = lane.free()
            if self._streaks.get(destination_id, 0) >= DOWN_AFTER:
                free = 1 if free == lane.size and now >= self._probe_at.get(destination_id, 0.0) else 0
            room[destination_id] = free
        return room

    def _claim(
        self, db: Session, room: dict[int, int]
    ) -> tuple[set[int], list[tuple[Destination, float, list[Claim]]]]:
        """(the active destinations, what was claimed of each): one short write transaction."""
        now = self.clock()
        claimed = []
        destinations = fanout.active(db)
        for destination in destinations:
            timeout = self._timeout(destination)
            owner = f"{self.worker_id[:80]}/{next(self._serial)}"  # fits lease_owner
            limit = room.get(destination.id, self.settings.writeback_concurrency)
            got = claims.claim(db, destination.id, owner, now, claims.lease_for(timeout), limit)
            if got:
                claimed.append((destination, timeout, got))
        return {d.id for d in destinations}, claimed

    def _prepare(
        self, db: Session, claimed: list[tuple[Destination, float, list[Claim]]]
    ) -> tuple[list[Job], list[tuple[Claim, Outcome]]]:
        """The payloads and decrypted settings of what was claimed (reads only), or why a claim cannot be sent."""
        jobs: list[Job] = []
        failures: list[tuple[Claim, Outcome]] = []
        wanted = [claim.event_id for _, _, got in claimed for claim in got]
        events = {e.id: e for e in db.scalars(select(Event).where(Event.id.in_(wanted)))}
        rows = payload.prefetch(db, list(events.values()))  # noqa: F841 (held while building)
        for destination, timeout, got in claimed:
            try:
                config = registry.config_of(destination, self._box)
            except DecryptionError:
                failed = Failed("the saved secret cannot be read with the server's secret key: give it again", True)
                failures += [(claim, failed) for claim in got]
                continue
            for claim in got:
                event = events.get(claim.event_id)
                if event is None:
                    failures.append((claim, Failed("its event is no longer in the outbox", permanent=True)))
                    continue
                try:
                    built = payload.build(db, event)
                except Exception as error:  # one bad row must not stop every delivery
                    log.error("write-back: event %s not built: %s\n%s", event.id, type(error).__name__, where(error))
                    failures.append((claim, Failed(f"its payload could not be built ({type(error).__name__})", True)))
                    continue
                jobs.append(Job(claim, destination.id, destination.kind, config, built, timeout))
        return jobs, failures

    # --- sends -------------------------------------------------------------------------------------------

    def _transport(self, kind: str) -> Transport:
        if kind not in self._transports:
            self._transports[kind] = self._transport_for(kind)
        return self._transports[kind]

    async def _send(self, job: Job) -> None:
        started = time.monotonic()
        outcome: Outcome
        try:
            future = self._lane(job.destination_id).submit(self._transport(job.kind), job)
            answer = await asyncio.wait_for(asyncio.wrap_future(future), job.timeout + WAIT_BEYOND_TIMEOUT)
            outcome = Delivered(answer)
        except DeliveryFailed as failure:
            outcome = Failed(failure.reason, failure.permanent)
        except TimeoutError:
            outcome = Failed(f"no answer within {job.timeout:g} s")
        except Exception as error:  # a transport's bug: said on the page, told in the log without its text
            log.error("write-back: a %s send failed unexpectedly: %s\n%s", job.kind, type(error).__name__, where(error))
            outcome = Failed(f"unexpected error ({type(error).__name__}); the server's log has more")
        metrics.LATENCY.labels(kind=job.kind).observe(time.monotonic() - started)
        metrics.SENDS.labels(kind=job.kind, outcome="delivered" if isinstance(outcome, Delivered) else "failed").inc()
        self._follow(job.destination_id, outcome)
        self._results.append((job.claim, outcome))

    def _follow(self, destination_id: int, outcome: Outcome) -> None:
        """Say when a destination starts failing and when it answers again (its id only: no patient data)."""
        streak = self._streaks.get(destination_id, 0)
        if isinstance(outcome, Failed):
            if streak == 0:
                log.info("write-back to destination %s fails: %s", destination_id, outcome.reason)
            self._streaks[destination_id] = streak + 1
            self._probe_at[destination_id] = time.monotonic() + self.policy.first.total_seconds()
            return
        if streak:
            log.info("write-back to destination %s answers again after %d failures", destination_id, streak)
        if streak >= DOWN_AFTER:
            self._back_up.add(destination_id)
        self._streaks[destination_id] = 0

    def _record(self, db: Session, batch: list[tuple[Claim, Outcome]], back_up: set[int]) -> None:
        now = self.clock()
        recorded = outcomes.record(db, batch, now, self.policy)
        for destination_id in back_up - set(recorded.paused):
            outcomes.hurry(db, destination_id, now)
        for destination_id, why in recorded.paused.items():
            log.warning("write-back to destination %s is paused: %s", destination_id, why)

    async def _drain(self) -> None:
        if self._in_flight:
            await asyncio.wait(self._in_flight)
        batch, back_up = self._results, self._back_up
        if not batch:
            return
        try:
            await self._db(lambda db: self._record(db, batch, back_up))
        except SQLAlchemyError as error:  # their leases run out and any worker sends them again
            log.warning("write-back: %d outcomes not recorded at exit: %s", len(batch), describe(error))


def supervised(settings: Settings, sessions: sessionmaker[Session]) -> Supervised:
    """The engine as `reminders worker` and `reminders serve` run it: replaced by a new one if it ever dies."""
    return Supervised("write-back", lambda: Engine(settings, sessions))
