"""Per-sender pacing: a long code sends about one segment a second; Twilio queues the rest for hours.

Pacing here, not at Twilio, keeps the queue short so that no message waits past the quiet-hours window. It is
per worker process: with several workers, give each its share (REMINDERS_SENDER_RATE / workers). Calls share one
pace for the whole account, whatever clinic's number they show, as Twilio allows one call a second per account
unless raised (`{"calls": 5}` in REMINDERS_SENDER_RATES); each office's account has its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from ..models import Channel

CALLS = "calls"  # the pace of the account's outbound calls
MIN_RATE = 1 / 60  # segments a second that slowing down never goes below


def pace_key(channel: str, sender: str, account_sid: str | None = None) -> str:
    """What a send is paced by: its number for a text, the account for a call ("calls:AC..."; the rate set for
    "calls" holds for each account)."""
    if channel == Channel.SMS:
        return sender
    return f"{CALLS}:{account_sid}" if account_sid else CALLS


class Pacer:
    def __init__(self, default_rate: float, rates: Mapping[str, float], clock: Callable[[], float] = time.monotonic):
        self.default_rate = default_rate
        self.rates = dict(rates)
        self.clock = clock
        self._next_free: dict[str, float] = {}

    def rate(self, sender: str) -> float:
        return self.rates.get(sender) or self.rates.get(sender.partition(":")[0], self.default_rate)

    def reserve(self, sender: str, segments: int) -> float:
        """Book `segments` on `sender`; returns the monotonic time at which they may be sent."""
        start = max(self.clock(), self._next_free.get(sender, 0.0))
        self._next_free[sender] = start + segments / self.rate(sender)
        return start

    def slow_down(self, sender: str) -> float:
        """Halve `sender`'s pace for as long as this worker runs (Twilio said its queue is full: 21611, as when
        another system sends from the same number); returns the new rate."""
        self.rates[sender] = max(MIN_RATE, self.rate(sender) / 2)
        return self.rates[sender]

    def cancel(self, sender: str, segments: int) -> None:
        """Give back the most recent reservation (the job was not sent after all)."""
        if sender in self._next_free:
            self._next_free[sender] -= segments / self.rate(sender)
