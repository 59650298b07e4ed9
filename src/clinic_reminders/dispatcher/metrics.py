"""Prometheus metrics of the dispatcher process (the web app adds database-derived gauges at scrape time)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

CLAIMED = Counter("reminders_claimed", "Reminders claimed by this worker")
SENT = Counter("reminders_sent", "Reminders accepted by Twilio", ["channel"])
FAILED = Counter("reminders_send_failures", "Twilio refusals, by error kind and code", ["kind", "code"])
UNKNOWN = Counter("reminders_unknown_outcomes", "Sends whose outcome had to be checked with Twilio")
RECONCILED = Counter("reminders_reconciled", "Messages looked up at Twilio after a crash or timeout", ["found"])
TWILIO_LATENCY = Histogram(
    "twilio_request_seconds",
    "Latency of Twilio send requests",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
FENCED = Counter(
    "reminders_fenced", "Sends (at=send) and outcomes (at=record) dropped: another worker held the lease", ["at"]
)
