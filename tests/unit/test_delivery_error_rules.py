"""What set-up errors and carrier filtering lead to, without I/O: how long a refused reminder waits, which codes
make it wait, and what the doctor's `twilio.delivery_errors` says for each mix of codes."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from clinic_reminders.dispatcher.outcomes import setup_wait
from clinic_reminders.doctor import Status
from clinic_reminders.doctor.deliveries import FILTERING, SETUP_ERRORS, Findings, judge
from clinic_reminders.gateways.errors import CONFIGURATION_CODES, RULES, ErrorAction, ErrorKind

AT = datetime(2030, 6, 12, 15, 42, tzinfo=UTC)


def findings(waiting: int = 0, **counts: int) -> Findings:
    by_code = Counter({int(code.removeprefix("e")): n for code, n in counts.items()})
    return Findings(by_code, {code: AT for code in by_code}, waiting)


@pytest.mark.parametrize(
    ("earlier", "minutes"), [(0, 15), (1, 30), (2, 60), (3, 120), (4, 120), (50, 120), (10_000, 120)]
)
def test_it_waits_longer_after_each_configuration_error_up_to_two_hours(earlier: int, minutes: int) -> None:
    assert setup_wait(earlier) == timedelta(minutes=minutes)


def test_it_makes_only_configuration_errors_wait() -> None:
    assert {21606, 21608, 21210, 30032, 30034} <= CONFIGURATION_CODES
    assert not {21408, 30003, 30007, 21211, 21610} & CONFIGURATION_CODES
    assert all(RULES[code].kind is ErrorKind.CONFIGURATION for code in CONFIGURATION_CODES)


def test_the_doctor_knows_every_code_that_needs_a_person() -> None:
    """TWILIO.md: configuration errors (and a region not enabled) fail the check; carrier filtering warns."""
    assert set(SETUP_ERRORS) == {21606, 21608, 21210, 21408, 30032, 30034}
    assert set(FILTERING) == {30007}
    alerting = {code for code, rule in RULES.items() if rule.action is ErrorAction.ALERT_STAFF}
    assert alerting <= set(SETUP_ERRORS) | set(FILTERING)
    for advice in [*SETUP_ERRORS.values(), *FILTERING.values()]:
        assert advice.meaning and advice.fix and "+1" not in advice.fix


def test_it_is_ok_when_nothing_failed() -> None:
    outcome = judge(findings())
    assert outcome.status is Status.OK and outcome.explanation.startswith("no set-up error or carrier filtering")


@pytest.mark.parametrize(
    ("code", "meaning", "fix"),
    [
        (21606, "not an SMS-capable number", "TWILIO_PHONE_NUMBER"),
        (21608, "the account is a Trial", "Billing → Upgrade"),
        (21210, "caller ID of reminder calls is not verified", "6-digit code"),
        (21408, "not enabled for the account", "Geo permissions"),
        (30032, "toll-free sending number is not verified", "toll-free verification"),
        (30034, "not registered for A2P 10DLC", "A2P 10DLC"),
    ],
)
def test_a_configuration_error_fails_the_check_with_its_meaning_and_fix(code: int, meaning: str, fix: str) -> None:
    outcome = judge(findings(**{f"e{code}": 2}))
    assert outcome.status is Status.FAILED
    assert outcome.explanation.startswith(f"2 send(s) in the last 24 h failed because of the set-up ({code} ×2)")
    assert f"latest 2030-06-12 15:42 UTC: {code}: " in outcome.explanation and meaning in outcome.explanation
    assert outcome.fix.startswith(f"{code}: ") and fix in outcome.fix


def test_carrier_filtering_only_warns() -> None:
    outcome = judge(findings(e30007=3))
    assert outcome.status is Status.WARNING
    assert "3 text(s) in the last 24 h were not delivered (30007 ×3)" in outcome.explanation
    assert "carriers filtered texts as spam" in outcome.explanation and "reminder wording" in outcome.fix


def test_it_lists_every_code_most_frequent_first_and_counts_the_waiting_reminders() -> None:
    outcome = judge(findings(waiting=4, e21408=1, e21606=5, e30007=2))
    assert outcome.status is Status.FAILED
    assert "6 send(s) in the last 24 h failed because of the set-up (21606 ×5, 21408 ×1)" in outcome.explanation
    assert "4 reminder(s) wait for the fix (tried again at least every 2 h)" in outcome.explanation
    assert outcome.explanation.endswith("carriers also filtered 2 text(s) (30007 ×2)")
    assert outcome.fix.index("21606: ") < outcome.fix.index("30007: ") < outcome.fix.index("21408: ")


def test_it_is_ok_once_fixed_but_says_what_still_waits() -> None:
    outcome = judge(findings(waiting=2))
    assert outcome.status is Status.OK
    assert outcome.explanation == (
        "no set-up error is current; 2 reminder(s) held back by an earlier one are tried again within 2 h"
    )
