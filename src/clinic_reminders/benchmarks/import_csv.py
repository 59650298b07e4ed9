"""`reminders bench import`: a large practice's nightly schedule export, imported into SQLite, then again.

One run generates a CSV of N lines (default 100,000: half as many patients, each with two appointments whose
lines are far apart, as in an export sorted by date), and measures, in a fresh SQLite database with the office's
clinic, provider and default reminder rules:
- reading the file alone (the parser: the ceiling no import can pass);
- importing it into the empty database (every patient, appointment and reminder created);
- importing the same file again, unchanged (nothing to change: no statement may write).
Each figure is wall-clock lines/s with the process's CPU seconds beside it (on a shared machine the two differ),
and the statements that write (INSERT, UPDATE, DELETE) sent to the database driver.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine, event

from .. import accounts
from ..db import make_engine, make_sessionmaker, transaction
from ..imports import csv_file, upsert
from ..migrations import upgrade
from ..models import Clinic, Provider
from . import synthetic

HEADER = (
    "patient_id,first_name,last_name,date_of_birth,language,mobile_phone,"
    "appointment_id,clinic,provider,starts_at,duration_minutes,kind"
)
_LANGUAGES = ("en", "es", "en", "fr", "en", "vi")
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def schedule_csv(rows: int, first_day: datetime) -> bytes:
    """`rows` appointment lines for rows/2 patients (at most `synthetic` has numbers for), every 10 minutes."""
    patients = max(1, min(rows // 2, synthetic.MAX_PATIENTS))
    phones = list(synthetic.numbers(patients))
    lines = [HEADER]
    for i in range(rows):
        p = i % patients
        starts = (first_day + timedelta(minutes=10 * i)).isoformat(timespec="minutes")
        kind = "telehealth" if i % 7 == 0 else "in-person"
        lines.append(
            f"P{p},Pat{p},Synthetic,{1940 + p % 60}-{1 + p % 12:02d}-{1 + p % 28:02d},{_LANGUAGES[p % 6]},"
            f"{phones[p]},A{i},Bench clinic,Dr. Bench Provider,{starts},{(15, 30, 45)[i % 3]},{kind}"
        )
    return ("\n".join(lines) + "\n").encode()


@dataclass(frozen=True)
class Run:
    seconds: float
    cpu_seconds: float
    writes: int
    summary: list[str]

    def rate(self, rows: int) -> float:
        return rows / self.seconds


@contextmanager
def counting_writes(engine: Engine) -> Iterator[list[int]]:
    """Statements that write (INSERT, UPDATE, DELETE) sent to the driver, however many rows each carries."""
    written = [0]

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(_WRITES):
            written[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield written
    finally:
        event.remove(engine, "before_cursor_execute", count)


def timed_import(engine: Engine, data: bytes) -> Run:
    """What `reminders import csv` does once the file is read: parse, then upsert."""
    sessions = make_sessionmaker(engine)
    with counting_writes(engine) as written:
        started, cpu = time.perf_counter(), time.process_time()
        summary = upsert.run(sessions, csv_file.read(data, "US"), "csv")
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return Run(seconds, cpu, written[0], summary.lines())


def timed_parse(data: bytes) -> Run:
    started, cpu = time.perf_counter(), time.process_time()
    items = csv_file.read(data, "US")
    return Run(time.perf_counter() - started, time.process_time() - cpu, 0, [f"{len(items):,} records"])


def prepare(url: str) -> Engine:
    upgrade(url)
    engine = make_engine(url)
    with transaction(make_sessionmaker(engine)) as db:
        office = accounts.the_office(db)  # with the default reminder rules: three reminders per appointment
        clinic = Clinic(office_id=office.id, name="Bench clinic", phone="+13035550100", timezone="America/Denver")
        db.add(clinic)
        db.flush()
        db.add(Provider(office_id=office.id, clinic_id=clinic.id, name="Bench Provider", title="Dr."))
    return engine


@click.command()
@click.option(
    "--rows",
    envvar="REMINDERS_BENCH_IMPORT_ROWS",
    show_envvar=True,
    default=100_000,
    show_default=True,
    help="Lines of the generated CSV (one appointment each).",
)
def bench_import_command(rows: int) -> None:
    """CSV import throughput on SQLite: a first import into an empty database, then the same file again."""
    tomorrow = datetime.now().replace(hour=8, minute=0, second=0, microsecond=0) + timedelta(days=1)
    data = schedule_csv(rows, tomorrow)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    click.echo(f"{rows:,} lines ({len(data) / 2**20:.1f} MiB), {max(1, rows // 2):,} patients; load average {load}")
    parsed = timed_parse(data)
    click.echo(
        f"reading the file alone (the ceiling): {parsed.rate(rows):,.0f} lines/s (CPU {parsed.cpu_seconds:.1f} s)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        engine = prepare(f"sqlite:///{Path(tmp) / 'import.db'}")
        try:
            _report("import into an empty database", timed_import(engine, data), rows, parsed)
            _report("re-import of the same file", timed_import(engine, data), rows, parsed)
        finally:
            engine.dispose()


def _report(label: str, run: Run, rows: int, ceiling: Run) -> None:
    click.echo(
        f"{label}: {run.rate(rows):,.0f} lines/s = {run.rate(rows) / ceiling.rate(rows):.0%} of the ceiling "
        f"({run.seconds:.1f} s, CPU {run.cpu_seconds:.1f} s); write statements {run.writes:,}; "
        + "; ".join(run.summary)
    )
