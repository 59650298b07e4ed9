"""`reminders bench simulator`: how many Messages.create requests per second the simulator serves.

The simulator runs in its own process (as `reminders simulator` would); a concurrent aiohttp client drives it on
loopback for a fixed time, bounded in count, and the result is printed, never asserted.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import aiohttp

from ..simulator.config import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN


@dataclass(frozen=True, slots=True)
class BenchResult:
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def describe(self) -> str:
        return (
            f"Messages.create: {self.requests} requests in {self.seconds:.1f} s = {self.per_second:,.0f} requests/s; "
            f"latency p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms; errors {self.errors}"
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_simulator(port: int, extra_args: list[str] | None = None) -> subprocess.Popen[bytes]:
    """`reminders simulator` in a child process, quiet, on 127.0.0.1:`port`."""
    command = [sys.executable, "-m", "clinic_reminders.simulator.cli", "--host", "127.0.0.1", "--port", str(port)]
    env = {**os.environ, "REMINDERS_SIMULATOR_LOG_LEVEL": "warning"}
    return subprocess.Popen([*command, *(extra_args or [])], env=env)  # noqa: S603 (our own module)


async def wait_ready(base_url: str, limit_s: float = 20.0) -> None:
    deadline = time.monotonic() + limit_s
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(f"{base_url}/simulator/api/config") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the simulator did not start at {base_url}")
            await asyncio.sleep(0.1)


async def drive(
    base_url: str, *, seconds: float, concurrency: int, warmup_s: float = 1.0, max_requests: int = 200_000
) -> BenchResult:
    """Create messages from `concurrency` workers for `warmup_s` + `seconds`; measures only after the warm-up."""
    url = f"{base_url}/2010-04-01/Accounts/{DEFAULT_ACCOUNT_SID}/Messages.json"
    token = base64.b64encode(f"{DEFAULT_ACCOUNT_SID}:{DEFAULT_AUTH_TOKEN}".encode()).decode()
    headers = {"Authorization": f"Basic {token}", "Content-Type": "application/x-www-form-urlencoded"}
    latencies: list[float] = []
    errors = 0
    sent = 0
    loop = asyncio.get_running_loop()
    measure_from = loop.time() + warmup_s
    stop_at = measure_from + seconds

    async def worker(session: aiohttp.ClientSession, n: int) -> None:
        nonlocal errors, sent
        i = 0
        while loop.time() < stop_at and sent < max_requests:
            i += 1
            body = urlencode({"To": f"+1555{n:03d}{i % 10000:04d}", "From": "+15005550006", "Body": "Reminder"})
            started = loop.time()
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    ok = response.status == 201
            except aiohttp.ClientError:
                ok = False
            if started >= measure_from:
                sent += 1
                latencies.append(loop.time() - started)
                errors += 0 if ok else 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session, n) for n in range(concurrency)))
    latencies.sort()

    def percentile(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0.0

    return BenchResult(len(latencies), errors, seconds, percentile(0.5), percentile(0.99))


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard] where it exists
        return None
    return uvloop.new_event_loop


def run_bench(*, seconds: float, concurrency: int, port: int | None = None) -> BenchResult:
    port = port or free_port()
    process = start_simulator(port)
    base_url = f"http://127.0.0.1:{port}"
    try:

        async def main() -> BenchResult:
            await wait_ready(base_url)
            return await drive(base_url, seconds=seconds, concurrency=concurrency)

        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            return runner.run(main())
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
