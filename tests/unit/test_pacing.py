"""Per-sender pacing: a long code sends about one segment a second; each number keeps its own pace."""

from __future__ import annotations

from clinic_reminders.dispatcher.pacing import CALLS, MIN_RATE, Pacer, pace_key
from clinic_reminders.models import Channel


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_it_spaces_segments_at_the_senders_rate() -> None:
    clock = FakeClock()
    pacer = Pacer(1.0, {}, clock=clock)
    assert [pacer.reserve("+15005550006", 1) for _ in range(3)] == [100.0, 101.0, 102.0]
    assert pacer.reserve("+15005550006", 2) == 103.0  # a two-segment text takes two slots
    assert pacer.reserve("+15005550006", 1) == 105.0


def test_each_number_has_its_own_pace_and_rates_can_differ() -> None:
    clock = FakeClock()
    pacer = Pacer(1.0, {"+18005550100": 3.0}, clock=clock)  # a toll-free number: 3 segments a second
    assert pacer.reserve("+12125550100", 1) == 100.0
    assert pacer.reserve("+18005550100", 1) == 100.0
    assert pacer.reserve("+18005550100", 1) == 100.0 + 1 / 3


def test_idle_time_is_not_banked() -> None:
    clock = FakeClock()
    pacer = Pacer(1.0, {}, clock=clock)
    pacer.reserve("+1", 1)
    clock.now = 200.0
    assert pacer.reserve("+1", 1) == 200.0
    assert pacer.reserve("+1", 1) == 201.0


def test_a_cancelled_reservation_gives_its_slot_back() -> None:
    clock = FakeClock()
    pacer = Pacer(1.0, {}, clock=clock)
    pacer.reserve("+1", 1)
    pacer.reserve("+1", 1)
    pacer.cancel("+1", 1)
    assert pacer.reserve("+1", 1) == 101.0


def test_calls_share_the_accounts_pace_whatever_number_they_show() -> None:
    clock = FakeClock()
    pacer = Pacer(1.0, {CALLS: 2.0}, clock=clock)  # an account whose calls per second Twilio raised to 2
    first, second = pace_key(Channel.VOICE, "+12125550100"), pace_key(Channel.VOICE, "+13035550100")
    assert first == second == CALLS
    assert [pacer.reserve(first, 1), pacer.reserve(second, 1), pacer.reserve(first, 1)] == [100.0, 100.5, 101.0]
    assert pace_key(Channel.SMS, "+12125550100") == "+12125550100"


def test_a_full_queue_at_twilio_halves_the_senders_pace_down_to_a_floor() -> None:
    clock = FakeClock()
    pacer = Pacer(1.0, {"+18005550100": 3.0}, clock=clock)
    assert pacer.slow_down("+18005550100") == 1.5
    assert [pacer.reserve("+18005550100", 1) for _ in range(2)] == [100.0, 100.0 + 1 / 1.5]
    assert pacer.rate("+12125550100") == 1.0  # the other numbers keep theirs
    for _ in range(20):
        pacer.slow_down("+12125550100")
    assert pacer.rate("+12125550100") == MIN_RATE
