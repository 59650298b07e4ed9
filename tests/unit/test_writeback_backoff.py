"""When a failed write-back delivery is tried again, and when it is given up."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from clinic_reminders.writeback.backoff import RetryPolicy

POLICY = RetryPolicy.of(first=10, longest=3600, window=3 * 86400)
START = datetime(2030, 1, 1, tzinfo=UTC)


def test_it_doubles_from_the_first_pause_with_jitter_up_to_the_longest() -> None:
    rng = random.Random(7)
    for attempts, full in ((1, 10), (2, 20), (3, 40), (9, 2560), (10, 3600), (500, 3600)):
        pauses = [POLICY.pause(attempts, rng).total_seconds() for _ in range(200)]
        assert all(full / 2 <= p <= full for p in pauses), attempts
        assert max(pauses) - min(pauses) > full / 4  # spread, so a backlog does not come back all at once


def test_it_gives_up_once_the_window_since_the_first_attempt_is_over() -> None:
    assert not POLICY.given_up(START, START + timedelta(days=3) - timedelta(seconds=1))
    assert POLICY.given_up(START, START + timedelta(days=3))


def test_a_delivery_is_tried_about_eighty_times_in_its_window() -> None:
    rng, at, attempts = random.Random(1), START, 0
    while not POLICY.given_up(START, at):
        attempts += 1
        at += POLICY.pause(attempts, rng)
    assert 70 <= attempts <= 130
