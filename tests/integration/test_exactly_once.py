"""Exactly once, whatever happens: workers killed with SIGKILL at random moments, a worker frozen past its lease,
Twilio failing 20% of requests.

The simulator's ledger is the judge: every reminder's patient received exactly one text.
"""

from __future__ import annotations

import dataclasses
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders.benchmarks import synthetic
from clinic_reminders.db import make_engine, make_sessionmaker
from clinic_reminders.models import Message, Reminder
from clinic_reminders.models import ReminderStatus as RS
from tests.conftest import DATABASES, TEST_SECRET_KEY
from tests.fixtures.simulator import CLINIC_NUMBER, SimulatorClient, default_config

pytestmark = pytest.mark.slow


def seed(sessions: sessionmaker[Session], count: int) -> list[str]:
    """`count` patients, each with one appointment tomorrow and one reminder due now; returns their numbers."""
    synthetic.seed_due_reminders(sessions, count)
    return list(synthetic.numbers(count))


@dataclass
class Workers:
    database_url: str
    simulator: SimulatorClient
    log_dir: Path
    logs: list[Path] = dataclasses.field(default_factory=list)

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "REMINDERS_DATABASE_URL": self.database_url,
            "REMINDERS_SECRET_KEY": TEST_SECRET_KEY,
            "TWILIO_ACCOUNT_SID": self.simulator.account_sid,
            "TWILIO_AUTH_TOKEN": self.simulator.auth_token,
            "TWILIO_PHONE_NUMBER": CLINIC_NUMBER,
            "TWILIO_API_BASE_URL": self.simulator.base_url,
            "REMINDERS_SENDER_RATE": "100000",
            "REMINDERS_TWILIO_CONCURRENCY": "20",
            "REMINDERS_LEASE_SECONDS": "2",
            "REMINDERS_HEARTBEAT_SECONDS": "0.3",
            "REMINDERS_TWILIO_TIMEOUT": "2",
        }

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"worker-{time.monotonic_ns()}.log").open("wb")
        self.logs.append(Path(log.name))
        return subprocess.Popen(
            [sys.executable, "-m", "clinic_reminders", "worker", "--batch-size", "50", *args],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def finish(self, sessions: sessionmaker[Session], deadline_s: float = 240) -> None:
        """Workers with --once, until every reminder is sent: the first reconciles what killed ones left,
        later ones pick up retries whose backoff had not yet expired."""
        deadline = time.monotonic() + deadline_s
        while True:
            final = self.start("--once")
            assert final.wait(timeout=deadline_s) == 0, f"a worker failed: see its log in {self.log_dir}"
            with sessions() as db:
                left = db.scalar(select(func.count()).select_from(Reminder).where(Reminder.status != RS.SENT))
            if not left or time.monotonic() > deadline:
                return
            time.sleep(1)


def assert_each_sent_once(simulator: SimulatorClient, numbers: list[str], sessions: sessionmaker[Session]) -> None:
    ledger = Counter(m["to"] for m in simulator.messages())
    twice = {n: c for n, c in ledger.items() if c > 1}
    assert not twice, f"{len(twice)} patients got more than one text"
    missing = [n for n in numbers if n not in ledger]
    assert not missing, f"{len(missing)} patients got no text"
    with sessions() as db:
        statuses = dict(db.execute(select(Reminder.status, func.count()).group_by(Reminder.status)).all())
        recorded = dict(db.execute(select(Message.to_number, Message.twilio_sid)).all())
    assert statuses == {RS.SENT: len(numbers)}
    overwritten = [m["to"] for m in simulator.messages() if recorded.get(m["to"]) != m["sid"]]
    assert not overwritten, f"{len(overwritten)} messages carry another SID than the text Twilio sent"


@pytest.fixture(params=DATABASES)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, sessionmaker[Session]]]:
    """A migrated database that subprocesses can open (a file for SQLite, a private schema on PostgreSQL)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'crash.db'}"
        from clinic_reminders.migrations import upgrade

        upgrade(url)
        engine = make_engine(url)
        yield url, make_sessionmaker(engine)
        engine.dispose()
        return
    from clinic_reminders.migrations import upgrade
    from tests.conftest import postgres_schema

    with postgres_schema() as url:
        upgrade(url)
        engine = make_engine(url)
        yield url, make_sessionmaker(engine)
        engine.dispose()


def test_workers_killed_at_random_moments_send_each_reminder_exactly_once(
    database: tuple[str, sessionmaker[Session]], simulator: SimulatorClient, tmp_path: Path
) -> None:
    url, sessions = database
    numbers = seed(sessions, 2000)
    workers = Workers(url, simulator, tmp_path)
    parallel = 2 if url.startswith("postgresql") else 1  # SQLite has one writer; PostgreSQL takes several
    rng = random.Random(os.getpid())
    for _ in range(6):
        running = [workers.start() for _ in range(parallel)]
        time.sleep(rng.uniform(0.5, 2.5))
        for process in running:
            process.send_signal(signal.SIGKILL)
            process.wait()
    workers.finish(sessions)
    assert_each_sent_once(simulator, numbers, sessions)


def test_twilio_failing_a_fifth_of_requests_still_sends_each_reminder_exactly_once(
    database: tuple[str, sessionmaker[Session]], simulator: SimulatorClient, tmp_path: Path
) -> None:
    url, sessions = database
    numbers = seed(sessions, 300)
    # A fifth fail: refused (429), broken (500), lost on the way in, and lost on the way back after the text
    # went out (only reconciliation with Twilio's message list avoids a second text then).
    simulator.set_faults(rate_429=0.06, rate_500=0.05, rate_timeout=0.04, rate_lost_response=0.05, timeout_hang_s=3)
    workers = Workers(url, simulator, tmp_path)
    workers.finish(sessions)
    assert_each_sent_once(simulator, numbers, sessions)


def test_a_lost_answer_for_a_text_still_in_twilios_queue_is_found_not_sent_again(
    database: tuple[str, sessionmaker[Session]], simulator: SimulatorClient, tmp_path: Path
) -> None:
    url, sessions = database
    numbers = seed(sessions, 20)
    # Twilio accepts each text but the answer never arrives, and the texts wait in Twilio's queue: they have no
    # send date yet, so only a look at the latest messages (not a DateSent filter) finds them.
    simulator.reset(dataclasses.replace(default_config(), callback_delay_ms=600_000))
    simulator.set_faults(rate_lost_response=1.0, timeout_hang_s=3)
    workers = Workers(url, simulator, tmp_path)
    first = workers.start()
    simulator_has_all = time.monotonic() + 30
    while len(simulator.messages()) < len(numbers) and time.monotonic() < simulator_has_all:
        time.sleep(0.2)
    first.send_signal(signal.SIGKILL)
    first.wait()
    simulator.set_faults(rate_lost_response=0.0)  # Twilio answers again: a later worker looks the texts up
    workers.finish(sessions, deadline_s=60)
    assert {m["status"] for m in simulator.messages()} == {"queued"}
    assert_each_sent_once(simulator, numbers, sessions)


@pytest.mark.postgres
def test_a_worker_frozen_past_its_lease_sends_nothing_again_when_it_thaws(
    simulator: SimulatorClient, tmp_path: Path
) -> None:
    """SIGSTOP stands in for a VM pause or a container freeze: the frozen worker holds reminders (some at Twilio,
    some waiting for a free request slot) while another worker takes them over and sends what never got there.
    Thawed, the first worker finds every lease gone: it sends nothing and records nothing."""
    from clinic_reminders.migrations import upgrade
    from tests.conftest import postgres_schema

    with postgres_schema() as url:
        upgrade(url)
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        numbers = seed(sessions, 200)
        simulator.set_faults(latency_ms=300)  # each worker has 20 requests in flight, and 20 more waiting
        workers = Workers(url, simulator, tmp_path)
        frozen = workers.start()
        first_sent = time.monotonic() + 30
        while not simulator.messages() and time.monotonic() < first_sent:
            time.sleep(0.02)
        frozen.send_signal(signal.SIGSTOP)
        with sessions() as db:
            held = db.scalar(
                select(func.count())
                .select_from(Reminder)
                .where(Reminder.status == RS.SENDING, Reminder.lease_owner.contains(f":{frozen.pid}:"))
            )
        assert held, "the frozen worker should hold reminders"

        other = workers.start()
        all_sent = time.monotonic() + 120
        while time.monotonic() < all_sent:
            with sessions() as db:
                if not db.scalar(select(func.count()).select_from(Reminder).where(Reminder.status != RS.SENT)):
                    break
            time.sleep(0.2)
        frozen.send_signal(signal.SIGCONT)
        time.sleep(4)  # it thaws: its heartbeat, its sends waiting for a slot, the answers it had not read
        for process in (frozen, other):
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=60) == 0
        workers.finish(sessions)
        assert_each_sent_once(simulator, numbers, sessions)
        thawed = workers.logs[0].read_text()
        assert "another worker" in thawed  # what it did not send, or did not record
        assert not any(number in thawed for number in numbers)
        engine.dispose()
