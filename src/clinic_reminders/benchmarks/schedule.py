"""`reminders bench schedule`: a clinic month with and without the waitlist, through the real code path.

The same seeded month is run twice on fresh SQLite files: hundreds of visits or more on weekdays, about a tenth of
them cancelled at random moments in the two weeks before, and patients booked later who wait for an earlier
time with their own wishes (a provider, some weekdays, mornings). With the waitlist on, each cancellation goes
through the outbox to `dispatcher.waitlist_round.OfferRound` (waves, quiet hours, cut-off), the texts through
`dispatcher.outreach` to an in-memory Twilio (`gateways.fake`), and a share of patients (`--take-up`; 8 to
11 % in published studies) answer YES through `conversations.inbound_sms` some minutes later. Time is simulated:
the run jumps from one event (a cancellation, an answer, a wave due) to the next.

Each simulated round costs what a dispatcher's round does (tens of ms on SQLite); a month has one round per
cancellation, answer and wave that offers someone (a slot whose patients all hold other offers waits for them).
Measured here at load 7: 2,000 visits with 200 waiting (the defaults) take about 40 s, 5,000 with 500 about 3 min.
It prints, for both runs: slots freed and refilled, the median days sooner the movers were seen, the texts and
their cost per filled slot, and double bookings (two visits of one provider at once: must be 0).
"""

from __future__ import annotations

import asyncio
import heapq
import random
import statistics
import tempfile
import time as clock
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from .. import booking
from ..conversations import inbound_sms
from ..db import make_engine, make_sessionmaker, transaction
from ..dispatcher import outreach
from ..dispatcher.pacing import Pacer
from ..dispatcher.waitlist_round import OfferRound
from ..effective import TwilioConfig
from ..gateways.fake import FAKE_ACCOUNT_SID, FakeGateway
from ..models import (
    Appointment,
    Base,
    Clinic,
    EntrySource,
    Message,
    OfferStatus,
    Office,
    Patient,
    PatientPhone,
    PhoneKind,
    Provider,
    SlotStatus,
    WaitlistOffer,
    WaitlistSlot,
)
from ..settings import Settings
from ..waitlist import config, entries
from .dispatch import BENCH_SECRET_KEY

ZONE = ZoneInfo("America/New_York")
OFFICE_NUMBER = "+15005550006"
FIRST_DAY = date(2030, 6, 3)  # a Monday: a fixed month, so that every run is the same
DAYS = 28
HOURS = [time(h, m) for h in range(9, 17) for m in (0, 30)]  # 16 half-hour visits a day per provider
ANSWER_MINUTES = 30.0  # the mean delay of a YES after its offer


@dataclass(frozen=True)
class Month:
    appointments: int
    waiting: int
    cancel_rate: float
    take_up: float
    seed: int


@dataclass
class Outcome:
    freed: int = 0
    filled: int = 0
    days_sooner: list[float] = field(default_factory=list)
    texts: int = 0
    segments: int = 0
    accepted: int = 0
    cost: Decimal = Decimal(0)
    double_bookings: int = 0
    seconds: float = 0.0


def _start(day: date, at: time) -> datetime:
    return datetime.combine(day, at, ZONE).astimezone(UTC)


def _weekdays() -> list[date]:
    days = (FIRST_DAY + timedelta(days=n) for n in range(DAYS))
    return [d for d in days if d.weekday() < 5]


def _phone(n: int) -> str:
    return f"+1212{5550000 + n:07d}"


def _seed(db: Session, month: Month, rng: random.Random) -> tuple[Office, list[Appointment], dict[int, datetime]]:
    """The office, the month's visits (shuffled), and the start of each waiting patient's own appointment."""
    office = Office(name="Bench clinic", twilio_phone_number=OFFICE_NUMBER)
    db.add(office)
    db.flush()
    clinic = Clinic(office_id=office.id, name="Riverside", phone="+12125550100", timezone=str(ZONE))
    db.add(clinic)
    db.flush()
    slots_a_provider = len(_weekdays()) * len(HOURS)
    providers = [
        Provider(office_id=office.id, clinic_id=clinic.id, name=f"Provider {n + 1}", title="Dr.")
        for n in range(max(1, -(-month.appointments // slots_a_provider)))
    ]
    db.add_all(providers)
    db.flush()
    times = [(p, _start(d, h)) for p in providers for d in _weekdays() for h in HOURS]
    rng.shuffle(times)
    serial = iter(range(1_000_000))

    def patient(first: str) -> Patient:
        n = next(serial)
        number = _phone(n)
        person = Patient(office_id=office.id, first_name=first, last_name=f"P{n}", language="en")
        person.phones = [PatientPhone(office_id=office.id, number=number, kind=PhoneKind.MOBILE, position=0)]
        return person

    visits = []
    for provider, starts in times[: month.appointments]:
        visit = Appointment(
            office_id=office.id, clinic=clinic, provider=provider, patient=patient("Booked"), starts_at=starts
        )
        visits.append(booking.create(db, visit, "bench"))
    config.settings_of(db, office)
    waiting: dict[int, datetime] = {}
    later_days = [d for d in (FIRST_DAY + timedelta(days=DAYS + n) for n in range(56)) if d.weekday() < 5]
    later = [(p, _start(d, h)) for p in providers for d in later_days for h in HOURS]
    rng.shuffle(later)
    for provider, starts in later[: month.waiting]:  # booked after the month: they would rather come sooner
        person = patient("Waiting")
        own = Appointment(office_id=office.id, clinic=clinic, provider=provider, patient=person, starts_at=starts)
        booking.create(db, own, "bench")
        wish = entries.Join(
            patient_id=person.id,
            clinic_id=clinic.id,
            provider_id=provider.id if rng.random() < 0.5 else None,
            weekdays=tuple(sorted(rng.sample(range(5), 3))) if rng.random() < 0.3 else (),
            day_ends=time(12) if rng.random() < 0.3 else None,
            appointment_id=own.id,
        )
        entries.join(db, office, wish, "bench", EntrySource.STAFF)
        waiting[own.id] = own.starts_at
    return office, visits, waiting


class SimulatedClock:
    """The month's "now", which the waitlist's round reads."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def run(month: Month, folder: Path, *, waitlist: bool) -> Outcome:
    started = clock.monotonic()
    url = f"sqlite:///{folder / ('with' if waitlist else 'without')}.db"
    engine = make_engine(url)
    Base.metadata.create_all(engine)  # the migrations' schema (tests/integration/test_migrations.py)
    sessions = make_sessionmaker(engine)
    rng = random.Random(month.seed)
    with transaction(sessions) as db:
        office, visits, own_starts = _seed(db, month, rng)
        config.settings_of(db, office).enabled = waitlist
        office_id, price = office.id, office.sms_price_per_segment
        cancelled = [v for v in visits if rng.random() < month.cancel_rate]
        # Each cancellation at a random moment in the two weeks before its visit (at least an hour before).
        events = [
            (v.starts_at - timedelta(minutes=rng.uniform(60, 14 * 24 * 60)), n, "cancel", v.id)
            for n, v in enumerate(cancelled)
        ]
    heapq.heapify(events)
    outcome = Outcome(freed=len(cancelled))
    if waitlist:
        _simulate(sessions, events, month, rng)
    else:
        for _, _, _, appointment_id in sorted(events):
            with transaction(sessions) as db:
                appointment = db.get(Appointment, appointment_id)
                assert appointment is not None
                booking.cancel(db, appointment, "patient:sms")
    with sessions() as db:
        _measure(db, office_id, price, own_starts, outcome)
    engine.dispose()
    outcome.seconds = clock.monotonic() - started
    return outcome


def _next_wave(db: Session) -> datetime | None:
    return db.scalar(
        select(func.min(WaitlistSlot.next_wave_at)).where(
            WaitlistSlot.status == SlotStatus.OPEN, WaitlistSlot.next_wave_at < WaitlistSlot.closes_at
        )
    )


def _simulate(
    sessions: sessionmaker[Session], events: list[tuple[datetime, int, str, int]], month: Month, rng: random.Random
) -> None:
    """From one event (a cancellation, an answer, a wave due) to the next, until none is left."""
    settings = Settings(database_url="sqlite://", secret_key=BENCH_SECRET_KEY)
    twilio = TwilioConfig(FAKE_ACCOUNT_SID, "fake", OFFICE_NUMBER, None, None, None, None)
    gateway, pacer, order = FakeGateway(), Pacer(1_000_000.0, {}), len(events)
    now = SimulatedClock(events[0][0] if events else datetime.now(UTC))
    round_ = OfferRound(settings, now, pacer)
    while True:
        with sessions() as db:
            wave = _next_wave(db)
        moments = [m for m in (events[0][0] if events else None, wave) if m is not None]
        if not moments:
            return
        now.now = min(moments)
        while events and events[0][0] <= now.now:
            _, _, what, row_id = heapq.heappop(events)
            with transaction(sessions) as db:
                if what == "cancel":
                    appointment = db.get(Appointment, row_id)
                    assert appointment is not None
                    booking.cancel(db, appointment, "patient:sms")
                else:  # the patient's YES to the offer texted in message `row_id`
                    offer = db.execute(select(Message.to_number, Message.office_id).where(Message.id == row_id)).one()
                    sid = f"SMa{row_id:031d}"  # not a SID the in-memory Twilio gives
                    params = {"MessageSid": sid, "From": offer.to_number, "To": OFFICE_NUMBER, "Body": "YES"}
                    inbound_sms.handle(db, offer.office_id, params, now.now)
        with transaction(sessions) as db:
            drafts = [draft for _, draft in round_.prepare(db, lambda _: twilio, now.now)]
        if not drafts:
            continue
        results = asyncio.run(outreach.send_all(gateway, drafts, pacer))
        with transaction(sessions) as db:
            round_.record(db, results, now.now)
        for draft in drafts:
            if rng.random() < month.take_up:
                order += 1
                later = now.now + timedelta(minutes=rng.expovariate(1 / ANSWER_MINUTES))
                heapq.heappush(events, (later, order, "answer", draft.message_id))


def _measure(db: Session, office_id: int, price: Decimal, own_starts: dict[int, datetime], outcome: Outcome) -> None:
    filled = select(func.count()).select_from(WaitlistSlot).where(WaitlistSlot.status == SlotStatus.FILLED)
    outcome.filled = db.scalar(filled) or 0
    offers = list(db.scalars(select(WaitlistOffer)))
    outcome.accepted = sum(1 for o in offers if o.status == OfferStatus.ACCEPTED)
    sent = [o.message_id for o in offers if o.status != OfferStatus.FAILED and o.message_id is not None]
    outcome.texts = len(sent)
    segments = select(func.coalesce(func.sum(Message.num_segments), 0)).where(Message.id.in_(sent))
    outcome.segments = int(db.scalar(segments) or 0)
    outcome.cost = price * outcome.segments
    for appointment_id, was in own_starts.items():
        moved = db.get(Appointment, appointment_id)
        if moved is not None and moved.starts_at != was:
            outcome.days_sooner.append((was - moved.starts_at) / timedelta(days=1))
    clashes = (
        select(Appointment.provider_id, Appointment.starts_at)
        .where(Appointment.office_id == office_id, Appointment.status.in_(booking.HOLDS_ITS_TIME))
        .group_by(Appointment.provider_id, Appointment.starts_at)
        .having(func.count() > 1)
    )
    outcome.double_bookings = db.scalar(select(func.count()).select_from(clashes.subquery())) or 0


def _report(label: str, month: Month, outcome: Outcome) -> None:
    share = outcome.filled / outcome.freed if outcome.freed else 0.0
    sooner = f"{statistics.median(outcome.days_sooner):.1f}" if outcome.days_sooner else "-"
    per_slot = (
        f"{outcome.texts / outcome.filled:.1f} texts, ${outcome.cost / outcome.filled:.4f}" if outcome.filled else "-"
    )
    click.echo(
        f"{label}: {outcome.freed:,} slots freed, {outcome.filled:,} refilled ({share:.0%}); median days sooner "
        f"{sooner}; texts {outcome.texts:,} ({outcome.segments:,} segments, ${outcome.cost:.2f}), per filled slot "
        f"{per_slot}; YES taken {outcome.accepted:,}; double bookings {outcome.double_bookings} "
        f"({outcome.seconds:.1f} s)"
    )


@click.command()
@click.option(
    "--appointments",
    envvar="REMINDERS_BENCH_SCHEDULE_APPOINTMENTS",
    show_envvar=True,
    default=2000,
    show_default=True,
    type=click.IntRange(10, 100_000),
    help="Visits in the month.",
)
@click.option(
    "--waiting",
    envvar="REMINDERS_BENCH_SCHEDULE_WAITING",
    show_envvar=True,
    default=200,
    show_default=True,
    type=click.IntRange(0, 100_000),
    help="Patients on the waitlist.",
)
@click.option(
    "--cancel-rate",
    envvar="REMINDERS_BENCH_SCHEDULE_CANCEL_RATE",
    show_envvar=True,
    default=0.10,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Share of visits cancelled.",
)
@click.option(
    "--take-up",
    envvar="REMINDERS_BENCH_SCHEDULE_TAKE_UP",
    show_envvar=True,
    default=0.10,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Share of offers answered YES.",
)
@click.option(
    "--seed",
    envvar="REMINDERS_BENCH_SCHEDULE_SEED",
    show_envvar=True,
    default=1,
    show_default=True,
    type=int,
    help="The month's random seed.",
)
def bench_schedule_command(appointments: int, waiting: int, cancel_rate: float, take_up: float, seed: int) -> None:
    """A clinic month with the waitlist against the same month without it (simulated time, in-memory Twilio)."""
    month = Month(appointments, waiting, cancel_rate, take_up, seed)
    click.echo(
        f"{appointments:,} visits over {DAYS} days, {cancel_rate:.0%} cancelled, {waiting:,} waiting, "
        f"take-up {take_up:.0%}"
    )
    with tempfile.TemporaryDirectory() as folder:
        _report("without a waitlist", month, run(month, Path(folder), waitlist=False))
        _report("with the waitlist", month, run(month, Path(folder), waitlist=True))
