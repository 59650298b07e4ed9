"""Prometheus metrics of a write-back engine's process (the web app adds database-derived gauges at scrape time)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

SENDS = Counter("writeback_sends", "Write-back sends by destination kind and outcome", ["kind", "outcome"])
LATENCY = Histogram(
    "writeback_send_seconds",
    "How long a write-back send took, answer or failure",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
