"""`reminders bench pages`: how long each staff page takes to render with a busy week on SQLite.

Seeds a temporary SQLite database (5,000 appointments in the coming week, reminders sent, answers, failures,
opt-outs), signs in, and requests every page N times in-process (no network), printing p50 and p95 per page.
The goal is under 200 ms per page on a clinic's old PC; this prints, it does not assert.
"""

from __future__ import annotations

import random
import re
import statistics
import tempfile
import time
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from ..db import make_engine, make_sessionmaker
from ..models import Appointment, Base, utcnow
from ..settings import Settings
from ..web.app import create_app
from .pages_seed import ADMIN_EMAIL, PASSWORD, seed

GOAL_MS = 200.0


def _urls(info: dict[str, Any], ids: list[int]) -> dict[str, str]:
    today = info["today"]
    week = f"start={(today - timedelta(days=7)).isoformat()}&end={(today + timedelta(days=7)).isoformat()}"
    since = (utcnow() - timedelta(minutes=5)).isoformat().replace("+", "%2B")
    return {
        "schedule (today, all clinics)": f"/schedule?day={today.isoformat()}",
        "schedule (week)": f"/schedule?day={today.isoformat()}&days=7",
        "schedule (week, page 10)": f"/schedule?day={today.isoformat()}&days=7&page=10",
        "schedule (week, no answer)": f"/schedule?day={today.isoformat()}&days=7&status=no-answer",
        "schedule (week, search)": f"/schedule?day={today.isoformat()}&days=7&q=garcia",
        "schedule live update": f"/schedule/changes?since={since}&ids={','.join(map(str, ids))}",
        "inbox": "/inbox",
        "inbox thread": f"/inbox/{info['patient_id']}",
        "patients": "/patients",
        "patients (search)": "/patients?q=smith",
        "patient": f"/patients/{info['patient_id']}",
        "dashboard (two weeks)": f"/dashboard?{week}",
        "dashboard (30 days)": "/dashboard",
        "dashboard CSV": f"/dashboard.csv?{week}",
        "configuration": "/config",
        "clinics": "/clinics",
        "set-up checklist": "/setup",
    }


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


@click.command()
@click.option(
    "--appointments", envvar="REMINDERS_BENCH_PAGES_APPOINTMENTS", show_envvar=True, default=5_000, show_default=True
)
@click.option("--patients", envvar="REMINDERS_BENCH_PAGES_PATIENTS", show_envvar=True, default=3_000, show_default=True)
@click.option(
    "--repeat",
    envvar="REMINDERS_BENCH_PAGES_REPEAT",
    show_envvar=True,
    default=20,
    show_default=True,
    help="Requests per page (after one warm-up request).",
)
@click.option(
    "--database-dir",
    envvar="REMINDERS_BENCH_PAGES_DATABASE_DIR",
    show_envvar=True,
    default=None,
    type=click.Path(file_okay=False),
    help="Where the temporary SQLite database goes (default: a temp dir).",
)
def bench_pages_command(appointments: int, patients: int, repeat: int, database_dir: str | None) -> None:
    """Render every staff page REPEAT times against a busy week on SQLite; print p50/p95 per page."""
    with warnings.catch_warnings():  # imported here: the CLI should not pay for (or warn about) the test client
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    with tempfile.TemporaryDirectory(dir=database_dir) as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench-pages.db'}"
        engine = make_engine(url)
        Base.metadata.create_all(engine)
        started = time.perf_counter()
        with make_sessionmaker(engine)() as db, db.begin():
            info = seed(db, appointments, max(patients, 1), random.Random(2026))
        click.echo(f"seeded {appointments:,} appointments in a week in {time.perf_counter() - started:.1f} s")
        with make_sessionmaker(engine)() as db:
            day_ids = list(db.scalars(select(Appointment.id).order_by(Appointment.starts_at).limit(100)))
        app = create_app(Settings(database_url=url, secret_key="bench-" + "k" * 40, embedded_worker=False), engine)
        with TestClient(app) as client:
            login = client.get("/login").text
            token = re.search(r'name="csrf_token" value="([^"]+)"', login)
            assert token is not None
            client.post("/login", data={"email": ADMIN_EMAIL, "password": PASSWORD, "csrf_token": token.group(1)})
            click.echo(f"\n{'page':32} {'p50 ms':>8} {'p95 ms':>8}  {'size':>8}")
            worst = 0.0
            for name, path in _urls(info, day_ids).items():
                response = client.get(path)
                if response.status_code != 200:
                    raise click.ClickException(f"{path} answered {response.status_code}")
                timings = []
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    client.get(path)
                    timings.append((time.perf_counter() - t0) * 1000)
                p50, p95 = statistics.median(timings), _percentile(timings, 0.95)
                worst = max(worst, p95)
                mark = "" if p95 <= GOAL_MS else "  over the 200 ms goal"
                click.echo(f"{name:32} {p50:8.1f} {p95:8.1f}  {len(response.content) // 1024:6} kB{mark}")
        engine.dispose()
        click.echo(f"\nslowest p95: {worst:.1f} ms (goal: under {GOAL_MS:.0f} ms per page)")
