"""`reminders bench webhook`: /app_confirm against the same server answering a static TwiML document.

The server runs in its own process (uvicorn, one worker, SQLite), built by `bench_app`: the real service plus
three routes of the benchmark's own, tried before all others so that routing never flatters /app_confirm:
- a fixed TwiML document from an `async` route (no thread hand-over): the ceiling no webhook handler can beat;
- a signed webhook that only checks the signature: what reading and verifying a Twilio request costs;
- a bare signed webhook that checks the signature and inserts one row: where a handler's own work starts.

Each /app_confirm request is signed like Twilio's (GET, as the seed configures the SMS URL), from a patient of
the synthetic office, and makes the handler check the signature, find the patient and the appointment, record
the answer and reply. Printed: requests/s of the four at full load and their ratios to the ceiling, /app_confirm's
ratio to the bare signed insert (the goal: at least half), then /app_confirm's p50/p99 latency at a fixed rate
(300 requests/s by default; the goal: p99 under 50 ms).
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import click
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from sqlalchemy import insert
from yarl import URL

from ..db import make_engine, make_sessionmaker
from ..gateways import compute_signature
from ..migrations import upgrade
from ..models import AuditEntry, utcnow
from ..settings import Settings
from ..simulator.config import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, DEFAULT_PHONE_NUMBER
from ..web.app import create_app
from ..web.webhooks.database import in_transaction
from ..web.webhooks.signed import TwilioRequest, verified
from . import synthetic
from .dispatch import BENCH_SECRET_KEY
from .simulator import free_port

STATIC_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Thank you.</Message></Response>'


def bench_app() -> FastAPI:
    """Uvicorn factory for the benchmark's server process."""
    app = create_app(Settings())
    bench = APIRouter(include_in_schema=False)

    @bench.get("/bench/static")
    async def static() -> Response:
        return Response(STATIC_TWIML, media_type="text/xml")

    @bench.get("/bench/signed")
    async def signed(twilio: TwilioRequest = Depends(verified)) -> Response:
        return Response(STATIC_TWIML, media_type="text/xml")

    @bench.get("/bench/bare")
    async def bare(request: Request, twilio: TwilioRequest = Depends(verified)) -> Response:
        row = {"office_id": 1, "actor": "bench", "action": "bare", "entity": "webhook", "at": utcnow(), "detail": {}}
        await in_transaction(request, lambda db: db.execute(insert(AuditEntry), row))
        return Response(STATIC_TWIML, media_type="text/xml")

    app.include_router(bench)
    routes = app.router.routes
    for _ in range(3):  # first: routes are tried in order
        routes.insert(0, routes.pop())
    return app


def _environment(database_url: str, public_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "REMINDERS_DATABASE_URL": database_url,
        "REMINDERS_SECRET_KEY": BENCH_SECRET_KEY,
        "REMINDERS_PUBLIC_URL": public_url,
        "REMINDERS_EMBEDDED_WORKER": "0",
        "TWILIO_ACCOUNT_SID": DEFAULT_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": DEFAULT_AUTH_TOKEN,
        "TWILIO_PHONE_NUMBER": DEFAULT_PHONE_NUMBER,
    }


class Load:
    """Signed requests from the synthetic patients; each with a fresh MessageSid, as Twilio sends them.
    URLs are sent exactly as signed (`encoded=True`): re-quoting the query would break the signature."""

    def __init__(self, public_url: str, patients: list[str]) -> None:
        self.public_url = public_url
        self.patients = patients
        self.counter = 0

    def app_confirm(self) -> tuple[str, dict[str, str]]:
        return self.signed("/app_confirm")

    def signature_only(self) -> tuple[str, dict[str, str]]:
        return self.signed("/bench/signed")

    def bare(self) -> tuple[str, dict[str, str]]:
        return self.signed("/bench/bare")

    def signed(self, path: str) -> tuple[str, dict[str, str]]:
        self.counter += 1
        sid = f"SM{self.counter:032x}"
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": DEFAULT_ACCOUNT_SID,
            "From": random.choice(self.patients),
            "To": DEFAULT_PHONE_NUMBER,
            "Body": random.choice(("1", "yes", "3", "can I come later?")),
            "NumMedia": "0",
            "NumSegments": "1",
        }
        url = f"{self.public_url}{path}?{urlencode(params)}"
        return url, {"X-Twilio-Signature": compute_signature(DEFAULT_AUTH_TOKEN, url, None)}

    def static(self) -> tuple[str, dict[str, str]]:
        return f"{self.public_url}/bench/static", {}


async def closed_loop(request: object, concurrency: int, seconds: float) -> tuple[float, list[float], int]:
    """As fast as `concurrency` clients can go: (requests/s, latencies, errors)."""
    latencies: list[float] = []
    errors = 0
    loop = asyncio.get_running_loop()
    stop_at = loop.time() + seconds

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        while loop.time() < stop_at:
            url, headers = request()  # type: ignore[operator]
            started = loop.time()
            async with session.get(URL(url, encoded=True), headers=headers) as response:
                await response.read()
                errors += response.status != 200
            latencies.append(loop.time() - started)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
    return len(latencies) / seconds, latencies, errors


async def open_loop(request: object, rate: float, seconds: float) -> tuple[list[float], int]:
    """Requests started at a fixed rate whatever the answers' speed (how Twilio's traffic arrives)."""
    latencies: list[float] = []
    errors = 0
    loop = asyncio.get_running_loop()

    async def one(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        url, headers = request()  # type: ignore[operator]
        started = loop.time()
        async with session.get(URL(url, encoded=True), headers=headers) as response:
            await response.read()
            errors += response.status != 200
        latencies.append(loop.time() - started)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        tasks = []
        start = loop.time()
        for i in range(int(rate * seconds)):
            delay = start + i / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(session)))
        await asyncio.gather(*tasks)
    return latencies, errors


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else 0.0


async def _wait_ready(url: str, limit_s: float = 30) -> None:
    deadline = time.monotonic() + limit_s
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise click.ClickException("the server did not start")


@click.command()
@click.option("--seconds", envvar="REMINDERS_BENCH_SECONDS", show_envvar=True, default=8.0, show_default=True)
@click.option("--concurrency", envvar="REMINDERS_BENCH_CONCURRENCY", show_envvar=True, default=16, show_default=True)
@click.option(
    "--rate",
    envvar="REMINDERS_BENCH_RATE",
    show_envvar=True,
    default=300.0,
    show_default=True,
    help="Requests per second for the latency run.",
)
@click.option("--patients", envvar="REMINDERS_BENCH_PATIENTS", show_envvar=True, default=5_000, show_default=True)
def bench_webhook_command(seconds: float, concurrency: int, rate: float, patients: int) -> None:
    """/app_confirm (signature, lookup, write, TwiML) against a static TwiML answer from the same server."""
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        database_url = f"sqlite:///{Path(tmp) / 'webhook.db'}"
        upgrade(database_url)
        synthetic.seed_due_reminders(make_sessionmaker(make_engine(database_url)), patients)
        server = subprocess.Popen(  # noqa: S603 (our own module under uvicorn)
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "clinic_reminders.benchmarks.webhook:bench_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=_environment(database_url, public_url),
        )
        try:
            load = Load(public_url, list(synthetic.numbers(patients)))

            async def run() -> None:
                await _wait_ready(public_url)
                await closed_loop(load.static, concurrency, 1.0)  # warm-up
                static_rps, _, _ = await closed_loop(load.static, concurrency, seconds)
                click.echo(f"static TwiML (the ceiling): {static_rps:,.0f} requests/s")
                measured = {}
                for name, request in (
                    ("signed webhook (signature only)", load.signature_only),
                    ("bare signed webhook (signature + one insert)", load.bare),
                    ("/app_confirm (signature + lookup + write)", load.app_confirm),
                ):
                    rps, _, errors = await closed_loop(request, concurrency, seconds)
                    measured[request] = rps
                    share = rps / static_rps
                    click.echo(f"{name}: {rps:,.0f} requests/s = {share:.0%} of the ceiling; errors {errors}")
                of_bare = measured[load.app_confirm] / measured[load.bare]
                click.echo(f"/app_confirm = {of_bare:.0%} of the bare signed insert")
                latencies, rate_errors = await open_loop(load.app_confirm, rate, seconds)
                click.echo(
                    f"/app_confirm at {rate:.0f} requests/s: p50 {_percentile(latencies, 0.5):.1f} ms, "
                    f"p99 {_percentile(latencies, 0.99):.1f} ms; errors {rate_errors}"
                )

            asyncio.run(run())
        finally:
            server.terminate()
            server.wait(timeout=10)
