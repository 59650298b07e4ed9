"""`reminders bench fleet`: many offices on one PostgreSQL database, W worker and R web processes.

Each run gets a fresh database on the given server and a simulator holding one Twilio account (its own token,
number and approved registration) per simulated office, with Twilio's latency. It prints:
- reminders/s with W = 1 and 2 `reminders worker --once` processes sending every office's due reminders, from the
  first text handed to Twilio to the last (process start-up left out), and from the simulator's ledger the texts
  lost (a reminder with no text at Twilio) and duplicated (two texts to one patient of one account);
- answers/s on `/app_confirm` with R = 1 and 2 web processes behind one public URL (as a load balancer shows
  them to Twilio), each answer signed with its office's own token and sent to the replicas in turn;
- the p99 lag of a small office's due reminders (from the worker's start, its start-up included, to the text's
  row written just before Twilio is called) alone, and while a big office broadcasts its own backlog through
  the same worker.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import click
import httpx
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from .. import demo_registration
from ..crypto import SecretBox
from ..db import make_engine, make_sessionmaker, transaction
from ..gateways import compute_signature
from ..migrations import upgrade
from ..models import Message, Office, Patient, PatientPhone
from . import synthetic
from .dispatch import BENCH_SECRET_KEY, _wait
from .simulator import free_port, start_simulator
from .webhook import _percentile, _wait_ready, closed_loop

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class Account:
    """One simulated office's Twilio account."""

    sid: str
    token: str
    number: str

    @classmethod
    def numbered(cls, n: int) -> Account:
        return cls(f"AC{n:032x}", f"fleet-token-{n:020d}", f"+1720555{n:04d}")


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new database on the server for one run, dropped afterwards."""
    name = f"reminders_fleet_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def seed(database_url: str, backlog: list[tuple[Account, int]]) -> None:
    """An office per account, each with its own count of reminders due now (synthetic patients)."""
    upgrade(database_url)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    box = SecretBox(BENCH_SECRET_KEY)
    for account, count in backlog:
        synthetic.seed_due_reminders(sessions, count)
        with transaction(sessions) as db:
            office = db.scalars(select(Office).order_by(Office.id.desc()).limit(1)).one()
            office.name = f"Office {account.number[-4:]}"
            office.twilio_account_sid, office.twilio_phone_number = account.sid, account.number
            office.twilio_auth_token_encrypted = box.encrypt(account.token)
            demo_registration.registered(db, office, account.sid)
    engine.dispose()


def _simulator_config(folder: Path, accounts: list[Account], latency_ms: int) -> Path:
    path = folder / "simulator.json"
    config = {
        "accounts": [
            {"sid": a.sid, "auth_token": a.token, "numbers": [{"phone_number": a.number}], "registration": "approved"}
            for a in accounts
        ],
        "faults": {"latency_ms": latency_ms},
    }
    path.write_text(json.dumps(config))
    return path


def _environment(database_url: str, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")}  # every office has its own account
    return {
        **env,
        "REMINDERS_DATABASE_URL": database_url,
        "REMINDERS_SECRET_KEY": BENCH_SECRET_KEY,
        "REMINDERS_SENDER_RATE": "1000000",
        "REMINDERS_TWILIO_TIMEOUT": "30",
        "REMINDERS_WRITEBACK": "0",
        "REMINDERS_LOG_LEVEL": "WARNING",
        **more,
    }


@dataclass(frozen=True)
class Sent:
    rate: float
    lost: int
    duplicates: int
    started: datetime  # when the workers were started: every reminder of the run was due then


def dispatch(database_url: str, simulator_url: str, workers: int, expected: int) -> Sent:
    """`workers` processes send everything due; the rate over the span of the texts' creation."""
    httpx.post(f"{simulator_url}/simulator/api/reset", json={}, timeout=30).raise_for_status()
    env = _environment(database_url, TWILIO_API_BASE_URL=f"{simulator_url}/simulator")
    command = [sys.executable, "-m", "clinic_reminders", "worker", "--once"]
    started = datetime.now(UTC)
    processes = [subprocess.Popen(command, env=env) for _ in range(workers)]  # noqa: S603 (our own command)
    for process in processes:
        if process.wait() != 0:
            raise click.ClickException(f"a worker exited with {process.returncode}")
    engine = make_engine(database_url)
    with engine.connect() as connection:
        first, last = connection.execute(select(func.min(Message.created_at), func.max(Message.created_at))).one()
    engine.dispose()
    ledger = httpx.get(f"{simulator_url}/simulator/api/messages", timeout=120).json()
    texts = Counter((m["account_sid"], m["to"]) for m in ledger if m["direction"].startswith("outbound"))
    span = max((last - first).total_seconds(), 1e-3) if first and last else float("inf")
    return Sent(expected / span, expected - len(texts), sum(texts.values()) - len(texts), started)


def small_office_lag(database_url: str, small: Account, due: datetime) -> float:
    """p99 seconds from `due` (the worker's start, start-up included) to each of the small office's texts."""
    engine = make_engine(database_url)
    with engine.connect() as connection:
        office_id = connection.scalar(select(Office.id).where(Office.twilio_account_sid == small.sid))
        created = list(connection.scalars(select(Message.created_at).where(Message.office_id == office_id)))
    engine.dispose()
    if not created:
        raise click.ClickException("the small office sent nothing")
    return _percentile([(c - due).total_seconds() for c in created], 0.99) / 1000


class Answers:
    """Signed "1"s (and other answers) from every office's patients, to the replicas in turn."""

    def __init__(self, database_url: str, accounts: list[Account], public_url: str, replicas: list[str]) -> None:
        engine = make_engine(database_url)
        with engine.connect() as connection:
            rows = connection.execute(
                select(Office.twilio_account_sid, PatientPhone.number)
                .join(Patient, Patient.office_id == Office.id)
                .join(PatientPhone, PatientPhone.patient_id == Patient.id)
            ).all()
        engine.dispose()
        tokens = {a.sid: (a.token, a.number) for a in accounts}
        self.patients = [(sid, number, *tokens[sid]) for sid, number in rows if sid in tokens]
        self.public_url, self.replicas, self.counter = public_url, replicas, 0

    def __call__(self) -> tuple[str, dict[str, str]]:
        self.counter += 1
        sid, patient, token, office_number = random.choice(self.patients)
        message_sid = f"SM{self.counter:032x}"
        params = {
            "MessageSid": message_sid,
            "SmsSid": message_sid,
            "AccountSid": sid,
            "From": patient,
            "To": office_number,
            "Body": random.choice(("1", "yes", "3", "can I come later?")),
            "NumMedia": "0",
            "NumSegments": "1",
        }
        query = f"/app_confirm?{urlencode(params)}"
        replica = self.replicas[self.counter % len(self.replicas)]
        return f"{replica}{query}", {"X-Twilio-Signature": compute_signature(token, f"{self.public_url}{query}", None)}


def answers(database_url: str, accounts: list[Account], replicas: int, seconds: float, concurrency: int) -> float:
    ports = [free_port() for _ in range(replicas)]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    env = _environment(database_url, REMINDERS_PUBLIC_URL=urls[0], REMINDERS_EMBEDDED_WORKER="0")
    command = [sys.executable, "-m", "uvicorn", "--factory", "clinic_reminders.web.app:app_from_environment"]
    quiet = ["--host", "127.0.0.1", "--log-level", "warning", "--no-access-log"]
    servers = [subprocess.Popen([*command, *quiet, "--port", str(p)], env=env) for p in ports]  # noqa: S603
    try:

        async def run() -> tuple[float, int]:
            for url in urls:
                await _wait_ready(url)
            load = Answers(database_url, accounts, urls[0], urls)
            await closed_loop(load, concurrency, 1.0)  # warm-up
            rate, _, errors = await closed_loop(load, concurrency, seconds)
            return rate, errors

        rate, errors = asyncio.run(run())
        if errors:
            raise click.ClickException(f"{errors} answers were refused or failed with {replicas} web processes")
        return rate
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)


@click.command()
@click.option(
    "--database-url",
    envvar="REMINDERS_BENCH_FLEET_DATABASE_URL",
    show_envvar=True,
    default=DEFAULT_SERVER,
    show_default=True,
    help="A PostgreSQL server the bench may create databases on (a fresh one per run, dropped after).",
)
@click.option("--offices", envvar="REMINDERS_BENCH_FLEET_OFFICES", show_envvar=True, default=4, show_default=True)
@click.option(
    "--reminders",
    envvar="REMINDERS_BENCH_FLEET_REMINDERS",
    show_envvar=True,
    default=2_000,
    show_default=True,
    help="Due reminders per office.",
)
@click.option("--broadcast", envvar="REMINDERS_BENCH_FLEET_BROADCAST", show_envvar=True, default=10_000)
@click.option("--small", envvar="REMINDERS_BENCH_FLEET_SMALL", show_envvar=True, default=50, show_default=True)
@click.option("--latency-ms", envvar="REMINDERS_BENCH_LATENCY_MS", show_envvar=True, default=200, show_default=True)
@click.option("--seconds", envvar="REMINDERS_BENCH_SECONDS", show_envvar=True, default=8.0, show_default=True)
@click.option("--concurrency", envvar="REMINDERS_BENCH_CONCURRENCY", show_envvar=True, default=16, show_default=True)
def bench_fleet_command(
    database_url: str,
    offices: int,
    reminders: int,
    broadcast: int,
    small: int,
    latency_ms: int,
    seconds: float,
    concurrency: int,
) -> None:
    """Many offices on PostgreSQL: reminders/s and answers/s with 1 and 2 processes, and fair dispatch."""
    if make_url(database_url).get_backend_name() != "postgresql":
        raise click.BadParameter("several workers and web processes need PostgreSQL", param_hint="--database-url")
    accounts = [Account.numbered(n + 1) for n in range(max(offices, 2))]
    port = free_port()
    simulator_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as folder:
        config = _simulator_config(Path(folder), accounts, latency_ms)
        simulator = start_simulator(port, ["--config", str(config), "--log-level", "warning"])
        try:
            _wait(simulator_url)
            total = reminders * offices
            click.echo(f"{offices} offices, each its own Twilio account, {reminders:,} reminders due each")
            rates: dict[int, float] = {}
            for workers in (1, 2):
                with fresh_database(database_url) as url:
                    seed(url, [(a, reminders) for a in accounts[:offices]])
                    sent = dispatch(url, simulator_url, workers, total)
                    rates[workers] = sent.rate
                    click.echo(
                        f"{workers} worker(s): {sent.rate:,.0f} reminders/s; lost {sent.lost}, "
                        f"duplicates {sent.duplicates}"
                    )
                    if workers == 2:
                        answered = {r: answers(url, accounts, r, seconds, concurrency) for r in (1, 2)}
            click.echo(f"workers 2 vs 1: {rates[2] / rates[1]:.2f}x")
            click.echo(
                f"/app_confirm: 1 web process {answered[1]:,.0f} answers/s, 2 processes {answered[2]:,.0f} "
                f"answers/s = {answered[2] / answered[1]:.2f}x"
            )
            big, little = accounts[0], accounts[1]
            lags = {}
            for label, backlog in (("alone", [(little, small)]), ("beside", [(big, broadcast), (little, small)])):
                with fresh_database(database_url) as url:
                    seed(url, backlog)
                    sent = dispatch(url, simulator_url, 1, sum(n for _, n in backlog))
                    lags[label] = small_office_lag(url, little, sent.started)
            click.echo(
                f"small office ({small} due): p99 lag {lags['alone']:.2f} s alone, {lags['beside']:.2f} s while "
                f"another office sends {broadcast:,} = {lags['beside'] / max(lags['alone'], 1e-3):.1f}x"
            )
        finally:
            simulator.terminate()
            simulator.wait(timeout=10)
