"""The write-back engine: fan the outbox out into deliveries, claim those due, send each in a thread, record.

It runs as an asyncio task of its own beside the dispatcher (`reminders worker`, and the dispatcher embedded in
`reminders serve`), supervised like it (`dispatcher.supervisor.Supervised`). Database work runs in a thread of its
own, one unit at a time; every destination has its own small pool of threads (`writeback_concurrency`) in which
its transport's synchronous `send` runs, and the engine stops waiting after the destination's timeout. So a slow
or broken destination fills only its own threads: other destinations go on, and neither the dispatcher nor the
web app shares a thread with a send. A database error does not end the loop: it is logged without patient data,
and the round is tried again after a growing pause.

On SQLite every writer waits for the one write lock, the web app's answers too. So the engine writes in rounds
at least `ROUND_GAP` apart, each one short transaction that records every outcome since the last, fans out and
claims; a round with nothing to write takes no lock. To keep its threads busy between rounds, it claims ahead
for a destination that answers quickly: as many as its threads can start while their leases still leave a whole
send's time, queued in the engine and started as threads come free, the next one the moment a send ends.

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
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple, TypeVar

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
ROUND_GAP = 0.5  # seconds at least between two write rounds (at most `poll_interval`)
CLAIM_AHEAD = 32  # most deliveries claimed per send thread of a destination, sent or waiting for the thread
LANE_AHEAD = 256  # and per destination: what one round builds the payloads of stays short


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


class Claimed(NamedTuple):
    destination: Destination
    timeout: float
    start_by: datetime  # (engine clock) the lease still covers a send and its recording if it starts by then
    claims: list[Claim]


@dataclass(frozen=True)
class Job:
    claim: Claim
    destination_id: int
    kind: str
    config: DestinationConfig
    payload: Payload
    timeout: float
    start_by: datetime


class Lane:
    """One destination's threads and the claimed deliveries waiting for one; a send the engine stopped waiting
    for still holds its thread until it ends."""

    def __init__(self, destination_id: int, size: int) -> None:
        self.size = size
        self.pool = ThreadPoolExecutor(size, thread_name_prefix=f"writeback-{destination_id}")
        self.running: set[Future[str]] = set()
        self.waiting: deque[Job] = deque()
        self.seconds: float | None = None  # how long its sends take (a moving average; None: not known yet)
        self.timeout = 0.0  # the destination's, as its last claim had it

    def free(self) -> int:
        self.running = {future for future in self.running if not future.done()}
        return self.size - len(self.running)

    def idle(self) -> bool:
        return self.free() == self.size and not self.waiting

    def wanted(self) -> int:
        """How many more it may claim: what its threads start within a quarter of a timeout at the speed seen so
        far (the lease then still holds a whole send, on a busy machine too), at most CLAIM_AHEAD a thread and
        LANE_AHEAD in all; one a free thread at first."""
        ahead = 1 if self.seconds is None else max(1, min(CLAIM_AHEAD, int(self.timeout / 4 / self.seconds)))
        most = max(self.size, min(self.size * ahead, LANE_AHEAD))
        return max(0, most - (self.size - self.free()) - len(self.waiting))

    def took(self, seconds: float | None) -> None:
        """A send's time when it was delivered; None after a failure (claim one a thread again)."""
        if seconds is None or self.seconds is None:
            self.seconds = seconds
        else:
            self.seconds = 0.8 * self.seconds + 0.2 * seconds

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
        self.round_gap = min(ROUND_GAP, poll_interval)
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
        self._handed_back: list[Claim] = []  # claimed, not sent: their leases end in the next round
        self._streaks: dict[int, int] = {}  # failures in a row, by destination
        self._probe_at: dict[int, float] = {}  # when a destination that is down may be tried next (monotonic)
        self._back_up: set[int] = set()  # destinations that answered after an outage
        self._next_fan_out = 0.0
        self._next_claim = 0.0
        self._more = False  # the last claim took all it could: more may be due
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
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.round_gap if busy else self.poll_interval)
            await self._drain()
        finally:
            for lane in self._lanes.values():
                lane.pool.shutdown(wait=False, cancel_futures=True)
            self._db_thread.shutdown(wait=False)

    async def tick(self) -> bool:
        """One round: record outcomes, fan out and claim in one write transaction (on SQLite every writer waits
        for the one lock: one short transaction a round, not three), then build the payloads and queue them."""
        batch, self._results = self._results, []
        back_up, self._back_up = self._back_up, set()
        handed_back, self._handed_back = self._handed_back, []
        now = time.monotonic()
        fan_out = now >= self._next_fan_out
        claim = bool(batch) or self._more or now >= self._next_claim
        if fan_out:
            self._next_fan_out = now + self.poll_interval
        room = self._room()

        def write(db: Session) -> tuple[int, set[int] | None, list[Claimed]]:
            # The reads first: on SQLite the write lock is taken by the first write and held to the commit.
            plans = fanout.read(db, self.clock(), self.settle) if fan_out else []
            held = claims.fenced(db, [claim for claim, _ in batch])
            made = fanout.write(db, plans)
            if batch:
                self._record(db, batch, back_up, held)
            claims.hand_back(db, handed_back)
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
            self._handed_back += handed_back
            raise
        if active is not None:
            self._retire_lanes(active)
            self._more = any(len(c.claims) >= room.get(c.destination.id, self._first) for c in claimed)
        jobs, failures = await self._db(lambda db: self._prepare(db, claimed)) if claimed else ([], [])
        self._results += failures
        for job in jobs:
            lane = self._lane(job.destination_id)
            lane.timeout = job.timeout
            lane.waiting.append(job)
        self._start_sends()
        waiting = any(lane.waiting for lane in self._lanes.values())
        return bool(made or jobs or self._in_flight or waiting or self._results)

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

    @property
    def _first(self) -> int:
        """What a destination without a lane yet may claim: one a thread."""
        return self.settings.writeback_concurrency

    def _lane(self, destination_id: int) -> Lane:
        lane = self._lanes.get(destination_id)
        if lane is None:
            lane = self._lanes[destination_id] = Lane(destination_id, self.settings.writeback_concurrency)
        return lane

    def _retire_lanes(self, active: set[int]) -> None:
        """The threads of destinations no longer active (paused, disabled), once their last send has ended; what
        waits for them is handed back."""
        for destination_id, lane in list(self._lanes.items()):
            if destination_id not in active:
                self._hand_back(lane.waiting)
                if lane.idle():
                    self._lanes.pop(destination_id).pool.shutdown(wait=False)

    def _timeout(self, destination: Destination) -> float:
        value = destination.settings.get("timeout")
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return float(value)
        return self.settings.writeback_timeout

    def _room(self) -> dict[int, int]:
        """How many more deliveries each known destination may claim now. One that is down (DOWN_AFTER failures
        in a row) gets one attempt at a time, `retry_first` apart, rather than every delivery retried on its own."""
        room = {}
        now = time.monotonic()
        for destination_id, lane in self._lanes.items():
            if self._streaks.get(destination_id, 0) >= DOWN_AFTER:
                room[destination_id] = 1 if lane.idle() and now >= self._probe_at.get(destination_id, 0.0) else 0
            else:
                room[destination_id] = lane.wanted()
        return room

    def _claim(self, db: Session, room: dict[int, int]) -> tuple[set[int], list[Claimed]]:
        """(the active destinations, what was claimed of each)."""
        now = self.clock()
        claimed = []
        destinations = fanout.active(db)
        for destination in destinations:
            timeout = self._timeout(destination)
            owner = f"{self.worker_id[:80]}/{next(self._serial)}"  # fits lease_owner
            lease = claims.lease_for(timeout)
            got = claims.claim(db, destination.id, owner, now, lease, room.get(destination.id, self._first))
            if got:
                # Started later than this, a send could outlast the lease (one started at once has `timeout` to spare).
                start_by = now + lease - timedelta(seconds=timeout + WAIT_BEYOND_TIMEOUT)
                claimed.append(Claimed(destination, timeout, start_by, got))
        return {d.id for d in destinations}, claimed

    def _prepare(self, db: Session, claimed: list[Claimed]) -> tuple[list[Job], list[tuple[Claim, Outcome]]]:
        """The payloads and decrypted settings of what was claimed (reads only), or why a claim cannot be sent."""
        jobs: list[Job] = []
        failures: list[tuple[Claim, Outcome]] = []
        wanted = [claim.event_id for c in claimed for claim in c.claims]
        events = {e.id: e for e in db.scalars(select(Event).where(Event.id.in_(wanted)))}
        rows = payload.prefetch(db, list(events.values()))  # noqa: F841 (held while building)
        for destination, timeout, start_by, got in claimed:
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
                jobs.append(Job(claim, destination.id, destination.kind, config, built, timeout, start_by))
        return jobs, failures

    # --- sends -------------------------------------------------------------------------------------------

    def _transport(self, kind: str) -> Transport:
        if kind not in self._transports:
            self._transports[kind] = self._transport_for(kind)
        return self._transports[kind]

    def _start_sends(self) -> None:
        """Every free thread takes the next delivery waiting for it (one whose lease is too short now is handed
        back, to be claimed again)."""
        if self._stopping.is_set():
            return
        now = self.clock()
        for lane in self._lanes.values():
            while lane.waiting and lane.free() > 0:
                job = lane.waiting.popleft()
                if now > job.start_by:
                    self._handed_back.append(job.claim)
                    continue
                future = lane.submit(self._transport(job.kind), job)
                task = asyncio.create_task(self._send(job, future))
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)

    async def _send(self, job: Job, future: Future[str]) -> None:
        started = time.monotonic()
        outcome: Outcome
        try:
            answer = await asyncio.wait_for(asyncio.wrap_future(future), job.timeout + WAIT_BEYOND_TIMEOUT)
            outcome = Delivered(answer)
        except DeliveryFailed as failure:
            outcome = Failed(failure.reason, failure.permanent)
        except TimeoutError:
            outcome = Failed(f"no answer within {job.timeout:g} s")
        except Exception as error:  # a transport's bug: said on the page, told in the log without its text
            log.error("write-back: a %s send failed unexpectedly: %s\n%s", job.kind, type(error).__name__, where(error))
            outcome = Failed(f"unexpected error ({type(error).__name__}); the server's log has more")
        took = time.monotonic() - started
        metrics.LATENCY.labels(kind=job.kind).observe(took)
        metrics.SENDS.labels(kind=job.kind, outcome="delivered" if isinstance(outcome, Delivered) else "failed").inc()
        self._lane(job.destination_id).took(took if isinstance(outcome, Delivered) else None)
        self._follow(job.destination_id, outcome)
        self._results.append((job.claim, outcome))
        self._start_sends()

    def _follow(self, destination_id: int, outcome: Outcome) -> None:
        """Say when a destination starts failing and when it answers again (its id only: no patient data)."""
        streak = self._streaks.get(destination_id, 0)
        if isinstance(outcome, Failed):
            if streak == 0:
                log.info("write-back to destination %s fails: %s", destination_id, outcome.reason)
            self._streaks[destination_id] = streak + 1
            self._probe_at[destination_id] = time.monotonic() + self.policy.first.total_seconds()
            if streak + 1 == DOWN_AFTER:  # down: what waits is handed back rather than tried at once
                self._hand_back(self._lane(destination_id).waiting)
            return
        if streak:
            log.info("write-back to destination %s answers again after %d failures", destination_id, streak)
        if streak >= DOWN_AFTER:
            self._back_up.add(destination_id)
        self._streaks[destination_id] = 0

    def _record(
        self, db: Session, batch: list[tuple[Claim, Outcome]], back_up: set[int], held: list[Delivery] | None = None
    ) -> None:
        now = self.clock()
        recorded = outcomes.record(db, batch, now, self.policy, held)
        for destination_id in back_up - set(recorded.paused):
            outcomes.hurry(db, destination_id, now)
        for destination_id, why in recorded.paused.items():
            log.warning("write-back to destination %s is paused: %s", destination_id, why)

    def _hand_back(self, waiting: deque[Job]) -> None:
        """Claimed, not to be sent now: their leases are cleared in the next round."""
        self._handed_back += [job.claim for job in waiting]
        waiting.clear()

    async def _drain(self) -> None:
        """At the end: the sends on their way end and are recorded; what waits for a thread is handed back."""
        if self._in_flight:
            await asyncio.wait(self._in_flight)
        for lane in self._lanes.values():
            self._hand_back(lane.waiting)
        batch, back_up, handed_back = self._results, self._back_up, self._handed_back
        if not (batch or handed_back):
            return

        def write(db: Session) -> None:
            if batch:
                self._record(db, batch, back_up)
            claims.hand_back(db, handed_back)

        try:
            await self._db(write)
        except SQLAlchemyError as error:  # their leases run out and any worker sends them again
            log.warning("write-back: %d outcomes not recorded at exit: %s", len(batch), describe(error))


def supervised(settings: Settings, sessions: sessionmaker[Session]) -> Supervised:
    """The engine as `reminders worker` and `reminders serve` run it: replaced by a new one if it ever dies."""
    return Supervised("write-back", lambda: Engine(settings, sessions))
