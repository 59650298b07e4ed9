"""The benchmark commands run end to end on a small load and report every figure (not how fast: that is theirs
to print, never a test's to assert)."""

from __future__ import annotations

import os
import re
import subprocess
import sys


def _bench(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "clinic_reminders", "bench", *args],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_it_measures_the_webhook_against_its_ceiling_and_a_bare_handler() -> None:
    out = _bench("webhook", "--seconds", "0.5", "--patients", "50", "--rate", "40", "--concurrency", "4")
    assert re.search(r"static TwiML \(the ceiling\): [\d,]+ requests/s", out), out
    assert re.search(r"signed webhook \(signature only\): [\d,]+ requests/s = \d+% of the ceiling; errors 0", out), out
    assert re.search(r"bare signed webhook .*: [\d,]+ requests/s = \d+% of the ceiling; errors 0", out), out
    assert re.search(r"/app_confirm = \d+% of the bare signed insert", out), out
    assert re.search(r"/app_confirm .*: [\d,]+ requests/s = \d+% of the ceiling; errors 0", out), out
    assert re.search(r"/app_confirm at 40 requests/s: p50 [\d.]+ ms, p99 [\d.]+ ms; errors 0", out), out


def test_it_measures_dispatch_and_every_reminder_reaches_the_simulator() -> None:
    out = _bench(
        "dispatch", "--reminders", "200", "--latency-ms", "20", "--cap", "20", "--naive-sample", "5", "--plan", "300"
    )
    assert "naive sync loop, 5 reminders:" in out, out
    assert re.search(r"worker, 20 reminders: .*peak RSS \d+ MB; texts at Twilio 20\n", out), out
    assert re.search(r"worker, 200 reminders: .*peak RSS \d+ MB; texts at Twilio 200\n", out), out
    assert re.search(r"planning 300 appointments on SQLite: [\d.]+ s", out), out


def test_it_measures_an_import_and_a_re_import_that_writes_nothing() -> None:
    out = _bench("import", "--rows", "300")
    assert re.search(r"300 lines \([\d.]+ MiB\), 150 patients; load average ", out), out
    assert re.search(r"reading the file alone \(the ceiling\): [\d,]+ lines/s \(CPU [\d.]+ s\)", out), out
    first = r"import into an empty database: [\d,]+ lines/s = \d+% of the ceiling \([\d.]+ s, CPU [\d.]+ s\)"
    assert re.search(first + r"; write statements \d+; appointments: 300 created, ", out), out
    again = r"re-import of the same file: [\d,]+ lines/s = \d+% of the ceiling \([\d.]+ s, CPU [\d.]+ s\)"
    assert re.search(again + r"; write statements 0; appointments: 0 created, 0 updated, 300 unchanged", out), out


def test_it_measures_write_back_against_the_transport_alone_and_app_confirm_with_it_off() -> None:
    out = _bench("writeback", "--events", "90", "--patients", "30", "--rate", "20", "--seconds", "1")
    assert re.search(r"webhook transport alone \(the ceiling\), 4 at a time: [\d,]+ requests/s", out), out
    assert re.search(r"write-back engine, 90 events: [\d,]+ events/s = \d+% of the ceiling", out), out
    assert re.search(r"receiver: [\d,]+ signed requests verified, 0 forged", out), out
    assert "/app_confirm on SQLite, write-back in a worker beside the service:" in out, out
    assert re.search(r"at 20 requests/s, write-back off: p50 [\d.]+ ms, p99 [\d.]+ ms; errors 0", out), out
    on = r"at 20 requests/s, write-back on: p50 [\d.]+ ms \([+-]\d+%\), p99 [\d.]+ ms \([+-]\d+%\)"
    assert re.search(on + r"; events delivered meanwhile [1-9][\d,]*; errors 0", out), out


def test_it_simulates_a_clinic_month_with_and_without_the_waitlist_and_books_nothing_twice() -> None:
    out = _bench("schedule", "--appointments", "120", "--waiting", "20", "--take-up", "0.5")
    assert "120 visits over 28 days, 10% cancelled, 20 waiting, take-up 50%" in out, out
    without = re.search(r"without a waitlist: (\d+) slots freed, 0 refilled \(0%\); .*double bookings 0 ", out)
    assert without, out
    found = re.search(
        r"with the waitlist: (\d+) slots freed, (\d+) refilled \(\d+%\); median days sooner [\d.]+; texts (\d+) "
        r"\(\d+ segments, \$[\d.]+\), per filled slot [\d.]+ texts, \$[\d.]+; YES taken (\d+); double bookings 0 ",
        out,
    )
    assert found, out
    freed, refilled, texts, taken = (int(n) for n in found.groups())
    assert freed == int(without.group(1)) > 0  # the same month
    assert 0 < refilled == taken <= freed and texts >= refilled


def test_the_fleet_bench_sends_every_office_s_reminders_once_and_answers_through_every_replica() -> None:
    url = os.environ.get("REMINDERS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    out = _bench(
        "fleet", "--database-url", url, "--offices", "2", "--reminders", "40", "--broadcast", "200", "--small", "5",
        "--latency-ms", "20", "--seconds", "0.5", "--concurrency", "4",
    )  # fmt: skip
    assert "2 offices, each its own Twilio account, 40 reminders due each" in out, out
    for workers in (1, 2):
        assert re.search(rf"{workers} worker\(s\): [\d,]+ reminders/s; lost 0, duplicates 0\n", out), out
    assert re.search(r"/app_confirm: 1 web process [\d,]+ answers/s, 2 processes [\d,]+ answers/s = ", out), out
    assert re.search(r"small office \(5 due\): p99 lag [\d.]+ s alone, [\d.]+ s while another office sends 200", out)
