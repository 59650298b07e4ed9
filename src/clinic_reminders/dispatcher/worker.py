"""The dispatch loop: claim, prepare, send concurrently, record; reconcile what others left behind.

Database work is synchronous SQLAlchemy run in a thread, one unit at a time per worker (SQLite has a single
writer anyway), lease proofs first (`lane`); Twilio requests are asyncio tasks on the SDK's aiohttp client, each
through its office's own account (`offices`), bounded by that account's semaphore below Twilio's concurrency
limit. Claims share each batch fairly between the offices whose accounts have room (`leases.claim_due`).
Batching (one transaction per claim, per set of lease proofs and per set of results) is what lets one small
worker keep hundreds of requests in flight.

Every send and every outcome is fenced: the worker proves it still holds the reminder's lease right before it
calls Twilio (`fence`) and in the transaction that records what happened (`leases.prove`). A database error
does not end the loop: it is logged without patient data, written to the heartbeat row when possible, and the
round is tried again after a growing pause.
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

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ..db import transaction
from ..effective import TwilioConfig
from ..gateways import ErrorAction, TwilioError
from ..gateways.dispatching import DispatchGateway
from ..models import Channel, Reminder, utcnow
from ..settings import Settings
from . import metrics, reconcile
from .afterhours_round import AfterHoursRound
from .broadcast_round import BroadcastRound
from .fence import Fence, Proof
from .followup_round import FollowupRound
from .health import Backoff, beat, describe
from .lane import OTHER, PROOF, Lane
from .leases import Lease, claim_due, prove, take_over_abandoned, unfinished
from .offices import Account, Offices
from .outcomes import Failed, NotSent, Outcome, Result, Sent, Unknown, ask_twilio_soon, is_unknown, record_all
from .pacing import Pacer, pace_key
from .prepare import Preparer, SendJob, load
from .supervisor import keep_running
from .waitlist_round import OfferRound

log = logging.getLogger(__name__)
T = TypeVar("T")

RECONCILE_EVERY = 5.0


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
        gateway: DispatchGateway | None = None,
    ) -> None:
        """`gateway`: Twilio to use instead of each office's account (tests: `gateways.fake.FakeGateway`)."""
        self.settings = settings
        self.clock = clock  # tests pin "now"; everything time-dependent reads it
        self.sessions = sessions
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lease = timedelta(seconds=settings.lease_seconds)
        # The longest a request to Twilio may be on its way: reconciliation waits it out after a lease ends.
        self.longest_request = timedelta(seconds=settings.twilio_timeout)
        self.pacer = Pacer(settings.sender_rate, settings.sender_rates)
        self.started_at = clock()
        self._lane = Lane()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._held: set[Lease] = set()  # the heartbeat renews these, and only these
        self._fence = Fence(self._prove_for_send, fresh_for=settings.lease_seconds / 2)
        self._results: list[Result] = []
        self._offices = Offices(settings, gateway)
        self._last_reconcile = 0.0
        self._stopping = asyncio.Event()
        self._backoff = Backoff()
        self._failing_since: datetime | None = None  # the database work fails since then
        self._last_failure: tuple[datetime, str] | None = None
        self._offers = OfferRound(settings, clock, self.pacer)  # waitlist offers: the same accounts and pace
        self._followups = FollowupRound(settings, clock, self.pacer)  # no-show follow-ups and recall, likewise
        self._texts = (BroadcastRound(settings, clock, self.pacer), AfterHoursRound(settings, clock, self.pacer))

    # --- running -------------------------------------------------------------------------------------------

    def stop(self) -> None:
        self._stopping.set()

    async def run(self, *, once: bool = False) -> None:
        """Dispatch until stopped; with `once`, until nothing due is left and every send is recorded.

        With `once`, raises `NotConfigured` when reminders are due and Twilio is not set up to send them."""
        heartbeat = asyncio.create_task(keep_running("the heartbeat", self._heartbeat_loop), name="heartbeat")
        try:
            while not self._stopping.is_set():
                try:
                    busy = await self.tick()
                    idle = not busy and not self._in_flight and not self._results
                    done = once and idle and not await self._db(lambda db: unfinished(db, self.clock()))
                except SQLAlchemyError as error:
                    await self._wait_after(error)
                    continue
                self._recovered()
                if done:
                    break
                if once and idle and self._offices.paused is not None:
                    raise self._offices.paused  # what is left due is an office's that cannot send
                if not busy:
                    await self._sleep(self.poll_interval)
            await self._drain()
        finally:
            heartbeat.cancel()
            await self._offices.aclose()

    async def tick(self) -> bool:
        """One round; returns True when there was work (so the loop should not sleep)."""
        await self._flush_results()
        await self._offices.refresh(self._db)
        if not self._offices.configured():
            return False
        busy = False
        if time.monotonic() - self._last_reconcile >= RECONCILE_EVERY:
            self._last_reconcile = time.monotonic()
            busy = await self._reconcile() or busy
        busy = await self._offers.tick(self._db, self._offices.of) or busy
        busy = await self._followups.tick(self._db, self._offices.of) or busy
        for texts in self._texts:  # broadcasts, after-hours replies
            busy = await texts.tick(self._db, self._offices.of) or busy
        offices, room = self._offices.with_room()
        if room > 0:
            jobs = await self._db(lambda db: self._claim_and_prepare(db, offices, min(room, self.batch_size)))
            for lease, job in jobs:
                self._start(lease, job)
            busy = busy or bool(jobs)
        if self._in_flight:
            await asyncio.wait(self._in_flight, timeout=0.05, return_when=asyncio.FIRST_COMPLETED)
            busy = True
        return busy or bool(self._results)

    async def _drain(self) -> None:
        if self._in_flight:
            await asyncio.wait(self._in_flight)
        try:
            await self._flush_results()
        except SQLAlchemyError as error:  # their leases run out; reconciliation finds the sent ones at Twilio
            log.warning("dispatch: %d outcomes not recorded at exit: %s", len(self._results), describe(error))

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    # --- database failures ---------------------------------------------------------------------------------

    def _note_failure(self, error: SQLAlchemyError) -> None:
        now = self.clock()
        if self._failing_since is None:
            self._failing_since = now
        self._last_failure = (now, describe(error))

    async def _wait_after(self, error: SQLAlchemyError) -> None:
        self._note_failure(error)
        delay = self._backoff.next()
        log.warning("dispatch: the database failed: %s; trying again in %.0f s", describe(error), delay)
        await self._sleep(delay)

    def _recovered(self) -> None:
        if self._failing_since is None:
            return
        assert self._last_failure is not None
        log.warning(
            "dispatch: the database answers again (it failed from %s UTC, last with %s)",
            f"{self._failing_since:%H:%M:%S}",
            self._last_failure[1],
        )
        self._failing_since = None
        self._backoff.reset()

    # --- steps ---------------------------------------------------------------------------------------------

    async def _db(self, work: Callable[[Session], T], priority: int = OTHER) -> T:
        async with self._lane.turn(priority):
            return await asyncio.to_thread(self._in_transaction, work)

    def _in_transaction(self, work: Callable[[Session], T]) -> T:
        with transaction(self.sessions) as db:
            return work(db)

    def _claim_and_prepare(self, db: Session, offices: list[int], limit: int) -> list[tuple[Lease, SendJob]]:
        now = self.clock()
        claimed = claim_due(db, self.worker_id, now, self.lease, limit, offices)
        leases = {lease.reminder_id: lease for lease in claimed}
        if not leases:
            return []
        jobs = Preparer(db, self.settings, self._config_of, self.pacer, now).run(load(db, list(leases)))
        metrics.CLAIMED.inc(len(leases))
        return [(leases[job.reminder_id], job) for job in jobs]

    async def _prove_for_send(self, leases: list[Lease]) -> tuple[set[int], float]:
        def work(db: Session) -> tuple[set[int], float]:
            read_at = time.monotonic()
            return prove(db, self.worker_id, leases, self.clock(), self.lease), read_at

        return await self._db(work, PROOF)  # a slot waits for it

    def _config_of(self, office_id: int) -> TwilioConfig:
        twilio = self._offices.of(office_id)
        assert twilio is not None  # only the reminders of offices set up are claimed
        return twilio.config

    def _start(self, lease: Lease, job: SendJob) -> None:
        twilio = self._offices.of(job.office_id)
        assert twilio is not None
        account = twilio.account
        self._held.add(lease)
        account.in_flight += 1
        task = asyncio.create_task(self._send(account, lease, job))
        self._in_flight.add(task)

        def done(task: asyncio.Task[None]) -> None:
            self._in_flight.discard(task)
            account.in_flight -= 1

        task.add_done_callback(done)

    async def _send(self, account: Account, lease: Lease, job: SendJob) -> None:
        delay = job.not_before - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        async with account.slots:
            try:
                proof = await self._fence.check(lease)
            except SQLAlchemyError as error:
                self._note_failure(error)
                self._results.append((lease, job, NotSent("the lease could not be checked before sending")))
                return
            if proof is Proof.LOST:  # another worker has it: this one forgets it
                self._held.discard(lease)
                return
            if proof is Proof.LATE:
                self._results.append((lease, job, NotSent("the lease was checked too long before sending")))
                return
            started = time.monotonic()
            outcome = await self._call_twilio(account.gateway, job)
            metrics.TWILIO_LATENCY.observe(time.monotonic() - started)
        self._results.append((lease, job, outcome))

    async def _call_twilio(self, gateway: DispatchGateway, job: SendJob) -> Outcome:
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
                return Sent(sms.sid, sms.status, sms.num_segments)
            call = await gateway.place_call(
                job.to,
                job.from_,
                job.body,
                status_callback=job.status_callback,
                machine_detection="DetectMessageEnd",
            )
            return Sent(call.sid, call.status)
        except TwilioError as error:
            if error.action == ErrorAction.SLOW_DOWN:
                rate = self.pacer.slow_down(pace_key(job.channel, job.from_, gateway.account_sid))
                log.warning(
                    "Twilio's queue for %s is full (%s): paced down to %.3g a second", job.from_, error.code, rate
                )
            return Unknown(error) if is_unknown(error) else Failed(error)

    async def _flush_results(self) -> None:
        if not self._results:
            return
        batch, self._results = self._results, []
        try:
            await self._db(lambda db: record_all(db, self.worker_id, batch, self.clock(), self.lease))
        except BaseException:
            self._results[:0] = batch  # recorded at the next try (the leases stay held, the heartbeat renews them)
            raise
        self._held.difference_update(lease for lease, _, _ in batch)

    async def _reconcile(self) -> bool:
        offices = self._offices.configured()

        def take_over(db: Session) -> list[tuple[Lease, reconcile.Lookup]]:
            now = self.clock()
            limit, longest = self.batch_size, self.longest_request
            taken = take_over_abandoned(db, self.worker_id, now, self.lease, limit, longest, offices)
            leases = {lease.reminder_id: lease for lease in taken}
            lookups = reconcile.lookups_for(db, list(leases), now) if leases else []
            return [(leases[lookup.reminder_id], lookup) for lookup in lookups]

        taken = await self._db(take_over)
        if not taken:
            return False
        leases = [lease for lease, _ in taken]
        self._held.update(leases)
        try:
            found = await asyncio.gather(*(self._look_up(lookup) for _, lookup in taken))

            def apply(db: Session) -> None:
                now = self.clock()
                held = prove(db, self.worker_id, leases, now, self.lease)
                if len(held) < len(leases):  # this worker was paused past the lease: the new holder looks again
                    metrics.FENCED.labels(at="record").inc(len(leases) - len(held))
                    log.warning("reconciliation: %d reminders taken over by another worker", len(leases) - len(held))
                for (lease, lookup), candidates in zip(taken, found, strict=True):
                    if lease.reminder_id in held:
                        self._settle(db, lookup, candidates, now)

            await self._db(apply)
        finally:
            # Done, or not recorded (a database error): then the leases run out and any worker looks again.
            self._held.difference_update(leases)
        return True

    def _settle(self, db: Session, lookup: reconcile.Lookup, candidates: list[Sent] | None, now: datetime) -> None:
        if candidates is None:  # Twilio could not be asked: try again at the next round
            reminder = db.get(Reminder, lookup.reminder_id)
            assert reminder is not None
            ask_twilio_soon(reminder, now)
        elif reconcile.apply(db, lookup, candidates, now):
            metrics.RECONCILED.labels(found="yes").inc()
        else:
            metrics.RECONCILED.labels(found="no").inc()

    async def _look_up(self, lookup: reconcile.Lookup) -> list[Sent] | None:
        twilio = self._offices.of(lookup.office_id)
        if twilio is None:  # its office was just found not set up: looked at again once it is
            return None
        async with twilio.account.slots:
            try:
                return await reconcile.find_at_twilio(twilio.account.gateway, lookup)
            except TwilioError as error:
                log.warning("reconciliation lookup failed: %s", error)
                return None

    # --- heartbeat -----------------------------------------------------------------------------------------

    def _heartbeat(self) -> Callable[[Session], None]:
        """A beat as of now: extend the leases this worker holds, and tell the set-up doctor how it is."""
        held, failing_since, last_failure = list(self._held), self._failing_since, self._last_failure

        def write(db: Session) -> None:
            now = self.clock()
            prove(db, self.worker_id, held, now, self.lease)
            beat(db, self.worker_id, now, self.started_at, failing_since, last_failure)

        return write

    async def _heartbeat_loop(self) -> None:
        while True:
            try:
                await self._db(self._heartbeat())
            except SQLAlchemyError as error:  # the loop logs database failures; the next beat tries again
                self._note_failure(error)
            await asyncio.sleep(self.settings.heartbeat_seconds)
