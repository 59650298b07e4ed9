"""When a failed delivery is tried again, and when it is given up.

The pause after the n-th failed attempt is about `first` · 2^(n-1), at most `longest`, with "equal jitter"
(between half of it and all of it) so that the deliveries of a destination that was down do not all come back at
the same instant. With the defaults (10 s doubling up to an hour) a delivery is tried about 80 times in the
three days of its retry window, counted from its first attempt.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryPolicy:
    first: timedelta
    longest: timedelta
    window: timedelta

    @classmethod
    def of(cls, first: float, longest: float, window: float) -> RetryPolicy:
        return cls(timedelta(seconds=first), timedelta(seconds=longest), timedelta(seconds=window))

    def pause(self, attempts: int, rng: random.Random | None = None) -> timedelta:
        """The wait after `attempts` failed attempts (1 for the first failure)."""
        exponent = min(max(attempts - 1, 0), 40)
        full = min(self.longest.total_seconds(), self.first.total_seconds() * 2.0**exponent)
        share = (rng or random).uniform(0.5, 1.0)
        return timedelta(seconds=full * share)

    def given_up(self, first_attempt_at: datetime, now: datetime) -> bool:
        """Has the delivery been failing for the whole window?"""
        return now - first_attempt_at >= self.window
