"""`reminders bench writeback`: events delivered per second to a local webhook receiver, and what write-back
costs /app_confirm, each against a baseline from the same run.

1. The receiver runs in its own process (uvicorn), checking every signature with `standardwebhooks` as a
   practice-management system would. The ceiling is the webhook transport alone, `--concurrency` sends at a
   time with no database; then the engine (in this process) delivers `--events` outbox events, each
   appointment's in order, and its rate is printed as a share of the ceiling.
2. The service runs in its own process, once with write-back off and once with it on (a destination pointing at
   the receiver), each on a fresh copy of the same database; signed answers arrive at a fixed rate (`--rate`),
   and /app_confirm's p50 and p99 latency with write-back on are compared with off. Delivery is asynchronous, so
   the goal is under 10% added. With `--engine-in worker` (the default) dispatch and write-back run in a
   `reminders worker` beside the service, as a deployment with separate workers runs them; with `serve`, inside
   the service (its embedded dispatcher), as one small office on SQLite may run it.

The database is SQLite files in a temporary folder, or with `--database-url` a PostgreSQL server, on which the
bench makes its own databases (copies of one seeded template) and drops them at the end.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import httpx
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import events
from ..crypto import SecretBox
from ..db import is_sqlite, make_engine, make_sessionmaker
from ..migrations import upgrade
from ..models import Appointment, Delivery, DeliveryStatus, Destination, Event, EventType, Office, utcnow
from ..settings import Settings
from ..writeback import payload
from ..writeback.engine import Engine
from ..writeback.transports import DestinationConfig
from ..writeback.webhook import WebhookTransport
from . import synthetic
from .dispatch import BENCH_SECRET_KEY
from .simulator import free_port
from .webhook import Load, _environment, _percentile, _wait_ready, open_loop

SECRET = "whsec_" + "YmVuY2htYXJrLXNpZ25pbmctc2VjcmV0LTAx"
SIGNED = Webhook(SECRET)


def bench_receiver() -> Starlette:
    """Uvicorn factory: the practice-management system's side, counting what it took (`GET /count`)."""
    taken = {"verified": 0, "forged": 0}

    async def hook(request: Request) -> Response:
        try:
            SIGNED.verify(await request.body(), dict(request.headers))
        except WebhookVerificationError:
            taken["forged"] += 1
            return Response(status_code=400)
        taken["verified"] += 1
        return Response(status_code=204)

    async def count(_: Request) -> JSONResponse:
        return JSONResponse(taken)

    return Starlette(routes=[Route("/hooks", hook, methods=["POST"]), Route("/count", count)])


@contextmanager
def _process(args: list[str], env: dict[str, str] | None = None) -> Any:
    server = subprocess.Popen([sys.executable, "-m", *args], env=env)  # noqa: S603 (our own modules)
    try:
        yield server
    finally:
        server.terminate()
        server.wait(timeout=30)


def _serve(factory: str, port: int, env: dict[str, str] | None = None) -> Any:
    args = ["uvicorn", "--factory", factory, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    return _process([*args, "--no-access-log"], env)


class Databases:
    """Fresh copies of one seeded database: files on SQLite; on PostgreSQL (`server`), databases of the bench's
    own made from a template database and dropped at the end."""

    def __init__(self, server: str | None, folder: Path) -> None:
        self.folder = folder
        self.server = make_url(server) if server else None
        self.prefix = f"bench_writeback_{uuid.uuid4().hex[:8]}"
        self.made: list[str] = []
        self.template = self._url("template")
        if self.server is not None:
            self._admin(f'CREATE DATABASE "{self.prefix}_template"')
            self.made.append(f"{self.prefix}_template")

    def _url(self, name: str) -> str:
        if self.server is None:
            return f"sqlite:///{self.folder / name}.db"
        return self.server.set(database=f"{self.prefix}_{name}").render_as_string(hide_password=False)

    def _admin(self, statement: str) -> None:
        assert self.server is not None
        admin = make_engine(self.server.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.execute(text(statement))
        finally:
            admin.dispose()

    def copy(self, name: str) -> str:
        """A copy of the template (whose connections must all be closed)."""
        if self.server is None:
            shutil.copy(self.folder / "template.db", self.folder / f"{name}.db")
        else:
            self._admin(f'CREATE DATABASE "{self.prefix}_{name}" TEMPLATE "{self.prefix}_template"')
            self.made.append(f"{self.prefix}_{name}")
        return self._url(name)

    def drop(self) -> None:
        for name in reversed(self.made):
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _wait_for(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise click.ClickException(f"{url} did not start")


def _destination(sessions: sessionmaker[Session], url: str) -> int:
    with sessions() as db, db.begin():
        office_id = db.scalars(select(Office.id).order_by(Office.id)).first()
        destination = Destination(
            office_id=office_id,
            name="Benchmark PMS",
            kind="webhook",
            settings={"url": url},
            secret_encrypted=SecretBox(BENCH_SECRET_KEY).encrypt(SECRET),
        )
        db.add(destination)
        db.flush()
        return destination.id


def _confirmations(sessions: sessionmaker[Session], count: int) -> None:
    """`count` outbox events, a few per appointment (as answers, confirmations and reminders make them)."""
    with sessions() as db, db.begin():
        rows = db.execute(select(Appointment.id, Appointment.office_id, Appointment.patient_id)).all()
        kinds = (EventType.PATIENT_ANSWERED, EventType.APPOINTMENT_CONFIRMED, EventType.REMINDER_SENT)
        entries = []
        for i in range(count):
            appointment_id, office_id, patient_id = rows[(i // len(kinds)) % len(rows)]
            entries.append(
                events.entry(office_id, kinds[i % len(kinds)], appointment_id=appointment_id, patient_id=patient_id)
            )
        events.record_all(db, entries, at=utcnow())


def _ceiling(sessions: sessionmaker[Session], url: str, concurrency: int, sends: int) -> float:
    """Signed sends per second through the webhook transport alone (one payload, no database)."""
    with sessions() as db:
        event = db.scalars(select(Event).order_by(Event.id.desc()).limit(1)).one()
        sample = payload.build(db, event)
    config = DestinationConfig(id=0, office_id=0, kind="webhook", name="ceiling", settings={"url": url}, secret=SECRET)
    transport = WebhookTransport()
    started = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda _: transport.send(config, sample, timeout=10), range(sends)))
    return sends / (time.monotonic() - started)


def _delivered(sessions: sessionmaker[Session]) -> int:
    with sessions() as db:
        query = select(func.count()).select_from(Delivery).where(Delivery.status == DeliveryStatus.DELIVERED)
        return int(db.scalar(query) or 0)


def _engine_rate(database_url: str, sessions: sessionmaker[Session], count: int, concurrency: int) -> float:
    settings = Settings(database_url=database_url, secret_key=BENCH_SECRET_KEY, writeback_concurrency=concurrency)
    engine = Engine(settings, sessions, poll_interval=0.1)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(engine.run(),), daemon=True)
    started = time.monotonic()
    thread.start()
    try:
        while _delivered(sessions) < count:
            if time.monotonic() - started > 600:
                raise click.ClickException("the engine did not deliver every event within 10 minutes")
            time.sleep(0.05)
        return count / (time.monotonic() - started)
    finally:
        loop.call_soon_threadsafe(engine.stop)
        thread.join(timeout=30)
        loop.close()


@contextmanager
def _worker(env: dict[str, str], start: bool) -> Iterator[None]:
    if not start:
        yield
        return
    with _process(["clinic_reminders", "worker"], env):
        yield


def _latencies(
    databases: Databases, engine_in: str, writeback: bool, receiver: str, rate: float, seconds: float
) -> Any:
    """/app_confirm at `rate` for `seconds` against the service on a copy of the template."""
    database_url = databases.copy("on" if writeback else "off")
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    if writeback:
        _destination(sessions, receiver)
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    env = {
        **_environment(database_url, public_url),
        "REMINDERS_EMBEDDED_WORKER": "1" if engine_in == "serve" else "0",
        "REMINDERS_WRITEBACK": "1" if writeback else "0",
        "TWILIO_API_BASE_URL": f"http://127.0.0.1:{free_port()}/nothing",  # nothing is due; and never real Twilio
    }
    with _worker(env, engine_in == "worker"), _serve("clinic_reminders.benchmarks.webhook:bench_app", port, env):
        load = Load(public_url, list(synthetic.numbers(_patients(sessions))))

        async def run() -> tuple[list[float], int]:
            await _wait_ready(public_url)
            await open_loop(load.app_confirm, rate, 1.0)  # warm-up
            return await open_loop(load.app_confirm, rate, seconds)

        latencies, errors = asyncio.run(run())
        time.sleep(1.0)  # what the last answers wrote goes out
        delivered = _delivered(sessions)
    engine.dispose()
    return latencies, errors, delivered


def _patients(sessions: sessionmaker[Session]) -> int:
    with sessions() as db:
        return int(db.scalar(select(func.count()).select_from(Appointment)) or 0)


@click.command()
@click.option("--events", "count", envvar="REMINDERS_BENCH_EVENTS", show_envvar=True, default=3000, show_default=True)
@click.option("--concurrency", envvar="REMINDERS_BENCH_CONCURRENCY", show_envvar=True, default=4, show_default=True)
@click.option("--patients", envvar="REMINDERS_BENCH_PATIENTS", show_envvar=True, default=1000, show_default=True)
@click.option("--rate", envvar="REMINDERS_BENCH_RATE", show_envvar=True, default=50.0, show_default=True)
@click.option("--seconds", envvar="REMINDERS_BENCH_SECONDS", show_envvar=True, default=8.0, show_default=True)
@click.option(
    "--engine-in",
    envvar="REMINDERS_BENCH_ENGINE_IN",
    show_envvar=True,
    type=click.Choice(["worker", "serve"]),
    default="worker",
    show_default=True,
    help="Where write-back runs while /app_confirm is measured: a `reminders worker` beside the service, or the "
    "service's embedded dispatcher.",
)
@click.option(
    "--database-url",
    envvar="REMINDERS_BENCH_DATABASE_URL",
    show_envvar=True,
    default=None,
    help="A PostgreSQL server (postgresql+psycopg://...) on which the bench makes and drops its own databases; "
    "default: SQLite files in a temporary folder.",
)
def bench_writeback_command(
    count: int, concurrency: int, patients: int, rate: float, seconds: float, engine_in: str, database_url: str | None
) -> None:
    """Write-back: events/s to a local webhook receiver, and /app_confirm's latency with write-back on and off."""
    if database_url and is_sqlite(database_url):
        raise click.ClickException("--database-url is for PostgreSQL; SQLite is the default")
    receiver_port = free_port()
    receiver = f"http://127.0.0.1:{receiver_port}"
    with tempfile.TemporaryDirectory() as tmp, _serve(f"{__name__}:bench_receiver", receiver_port):
        databases = Databases(database_url, Path(tmp))
        try:
            _run(databases, receiver, count, concurrency, patients, rate, seconds, engine_in)
        finally:
            if databases.server is not None:
                databases.drop()


def _run(
    databases: Databases,
    receiver: str,
    count: int,
    concurrency: int,
    patients: int,
    rate: float,
    seconds: float,
    engine_in: str,
) -> None:
    upgrade(databases.template)
    seeding = make_engine(databases.template)
    synthetic.seed_due_reminders(make_sessionmaker(seeding), patients, plan=False)
    seeding.dispose()  # SQLite: the last connection's close folds the write-ahead log into the file copied below
    _wait_for(f"{receiver}/count")

    database_url = databases.copy("engine")
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    _destination(sessions, f"{receiver}/hooks")
    _confirmations(sessions, count)
    ceiling = _ceiling(sessions, f"{receiver}/hooks", concurrency, min(count, 1000))
    click.echo(f"webhook transport alone (the ceiling), {concurrency} at a time: {ceiling:,.0f} requests/s")
    engine_rate = _engine_rate(database_url, sessions, count, concurrency)
    engine.dispose()
    share = engine_rate / ceiling
    click.echo(f"write-back engine, {count} events: {engine_rate:,.0f} events/s = {share:.0%} of the ceiling")
    taken = httpx.get(f"{receiver}/count").json()
    click.echo(f"receiver: {taken['verified']:,} signed requests verified, {taken['forged']} forged")

    off, off_errors, _ = _latencies(databases, engine_in, False, f"{receiver}/hooks", rate, seconds)
    on, on_errors, delivered = _latencies(databases, engine_in, True, f"{receiver}/hooks", rate, seconds)
    p50_off, p99_off, p50_on, p99_on = (_percentile(v, p) for v, p in ((off, 0.5), (off, 0.99), (on, 0.5), (on, 0.99)))
    where = "a worker beside the service" if engine_in == "worker" else "the service's embedded dispatcher"
    kind = "SQLite" if databases.server is None else "PostgreSQL"
    click.echo(f"/app_confirm on {kind}, write-back in {where}:")
    click.echo(
        f"  at {rate:.0f} requests/s, write-back off: p50 {p50_off:.1f} ms, p99 {p99_off:.1f} ms; errors {off_errors}"
    )
    click.echo(
        f"  at {rate:.0f} requests/s, write-back on: p50 {p50_on:.1f} ms ({p50_on / p50_off - 1:+.0%}), "
        f"p99 {p99_on:.1f} ms ({p99_on / p99_off - 1:+.0%}); events delivered meanwhile {delivered:,}; "
        f"errors {on_errors}"
    )
    click.echo("load average: " + " ".join(f"{load:.2f}" for load in os.getloadavg()))
