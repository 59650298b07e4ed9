"""`reminders bench dispatch`: the worker's throughput against Twilio's limits, as the simulator imposes them.

One run measures, against the same simulator (200 ms latency, 100 requests in flight at most, like Twilio's
account limit):
- our worker on 2,000 and on 20,000 due reminders (reminders/s and its peak RSS, which must not grow with the
  backlog), with per-sender pacing set high enough not to bind, so it is the engine that is measured;
- the naive loop sample apps use (the sync SDK, one message after another) on a sample of 200;
- the ceiling, cap / latency: no client can do better without breaking Twilio's concurrency limit, and the
  worker's own, its concurrency (90% of the cap, as in production) / latency: the most it can do as configured;
- planning 100,000 appointments on SQLite.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click
import httpx
from sqlalchemy import select

from ..db import make_engine, make_sessionmaker
from ..dispatcher.worker import Worker
from ..migrations import upgrade
from ..models import Office
from ..settings import Settings
from ..simulator.config import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, DEFAULT_PHONE_NUMBER
from . import synthetic
from .simulator import free_port, start_simulator

BENCH_SECRET_KEY = "benchmark-secret-key-not-for-production-0123456789"  # noqa: S105  (throwaway databases)


def _worker_environment(database_url: str, base_url: str, concurrency: int) -> dict[str, str]:
    return {
        **os.environ,
        "REMINDERS_DATABASE_URL": database_url,
        "REMINDERS_SECRET_KEY": BENCH_SECRET_KEY,
        "TWILIO_ACCOUNT_SID": DEFAULT_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": DEFAULT_AUTH_TOKEN,
        "TWILIO_PHONE_NUMBER": DEFAULT_PHONE_NUMBER,
        "TWILIO_API_BASE_URL": f"{base_url}/simulator",
        "REMINDERS_SENDER_RATE": "1000000",
        "REMINDERS_TWILIO_CONCURRENCY": str(concurrency),
        "REMINDERS_TWILIO_TIMEOUT": "30",
        "REMINDERS_LOG_LEVEL": "WARNING",
    }


def measure_worker(count: int, base_url: str, concurrency: int, workdir: Path) -> dict[str, float]:
    """Seed `count` due reminders in a fresh SQLite file and time one worker process sending them all."""
    url = f"sqlite:///{workdir / f'dispatch-{count}.db'}"
    upgrade(url)
    synthetic.seed_due_reminders(make_sessionmaker(make_engine(url)), count)
    httpx.post(f"{base_url}/simulator/api/reset", json={}, timeout=30).raise_for_status()
    output = subprocess.run(
        [sys.executable, "-m", "clinic_reminders.benchmarks.dispatch", "--child"],
        env=_worker_environment(url, base_url, concurrency),
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(output.stdout.strip().splitlines()[-1])
    sent = len(httpx.get(f"{base_url}/simulator/api/messages", timeout=60).json())
    result["sent_at_twilio"] = sent
    return result


def _child() -> None:
    """Inside the worker process: send everything due, then report time and peak memory as JSON."""
    settings = Settings()
    sessions = make_sessionmaker(make_engine(settings.database_url))
    started = time.perf_counter()
    asyncio.run(Worker(settings, sessions, batch_size=200, poll_interval=0.05).run(once=True))
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_rss_kb() / 1024}))


def peak_rss_kb() -> int:
    """This process's peak resident memory. On Linux, VmHWM: `ru_maxrss` also counts the parent's peak, which a
    child started with vfork+exec inherits (here the parent that seeded the backlog, so it grew with it)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure_naive(count: int, base_url: str) -> float:
    """What sample apps do: the sync SDK, one create after another. Returns messages per second."""
    from twilio.rest import Client

    client = Client(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN)
    client.api.base_url = f"{base_url}/simulator"
    numbers = list(synthetic.numbers(count))
    started = time.perf_counter()
    for number in numbers:
        client.messages.create(to=number, from_=DEFAULT_PHONE_NUMBER, body="Reminder: your appointment tomorrow")
    return count / (time.perf_counter() - started)


def measure_planning(count: int, workdir: Path) -> float:
    """Seconds to plan `count` appointments (seeding excluded)."""
    url = f"sqlite:///{workdir / 'planning.db'}"
    upgrade(url)
    sessions = make_sessionmaker(make_engine(url))
    synthetic.seed_due_reminders(sessions, count, plan=False)
    with sessions() as db, db.begin():
        office = db.scalars(select(Office)).one()
        started = time.perf_counter()
        synthetic.plan_all(db, office)
        return time.perf_counter() - started


@click.command()
@click.option(
    "--reminders",
    "count",
    envvar="REMINDERS_BENCH_REMINDERS",
    show_envvar=True,
    default=20_000,
    show_default=True,
    help="Backlog for the large run (the small run is a tenth of it).",
)
@click.option("--latency-ms", envvar="REMINDERS_BENCH_LATENCY_MS", show_envvar=True, default=200, show_default=True)
@click.option(
    "--cap",
    envvar="REMINDERS_BENCH_CAP",
    show_envvar=True,
    default=100,
    show_default=True,
    help="Requests in flight the simulated account allows (Twilio: about 100).",
)
@click.option("--naive-sample", envvar="REMINDERS_BENCH_NAIVE_SAMPLE", show_envvar=True, default=200, show_default=True)
@click.option(
    "--plan",
    "plan_count",
    envvar="REMINDERS_BENCH_PLAN",
    show_envvar=True,
    default=100_000,
    show_default=True,
    help="Appointments to plan (0 skips planning).",
)
def bench_dispatch_command(count: int, latency_ms: int, cap: int, naive_sample: int, plan_count: int) -> None:
    """Dispatch throughput against the simulator, a naive loop and the ceiling; worker memory; planning time."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    simulator = start_simulator(
        port, ["--latency-ms", str(latency_ms), "--max-concurrency", str(cap), "--log-level", "warning"]
    )
    concurrency = max(1, cap * 9 // 10)  # our default stays below the account's limit, as in production
    try:
        _wait(base_url)
        ceiling, own = cap / (latency_ms / 1000), concurrency / (latency_ms / 1000)
        click.echo(
            f"simulator: {latency_ms} ms latency, {cap} requests in flight at most; ceiling {ceiling:,.0f}/s; "
            f"worker concurrency {concurrency}, so at most {own:,.0f}/s = {own / ceiling:.0%} of the ceiling"
        )
        with tempfile.TemporaryDirectory() as tmp:
            naive = measure_naive(naive_sample, base_url) if count else 0.0
            if count:
                click.echo(f"naive sync loop, {naive_sample} reminders: {naive:,.1f}/s")
            for size in (count // 10, count) if count else ():
                run = measure_worker(size, base_url, concurrency, Path(tmp))
                rate = size / run["seconds"]
                click.echo(
                    f"worker, {size:,} reminders: {rate:,.0f}/s = {rate / ceiling:.0%} of the ceiling "
                    f"({rate / own:.0%} of its own), "
                    f"{rate / naive:,.0f}x the naive loop; peak RSS {run['peak_rss_mb']:.0f} MB; "
                    f"texts at Twilio {run['sent_at_twilio']:,.0f}"
                )
            if plan_count:
                seconds = measure_planning(plan_count, Path(tmp))
                click.echo(f"planning {plan_count:,} appointments on SQLite: {seconds:.1f} s")
    finally:
        simulator.terminate()
        simulator.wait(timeout=10)


def _wait(base_url: str, limit_s: float = 20) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/simulator/api/config", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise click.ClickException("the simulator did not start")


if __name__ == "__main__" and sys.argv[1:] == ["--child"]:
    _child()
