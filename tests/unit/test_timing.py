"""Due times, DST, quiet hours and booked-late appointments, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from clinic_reminders.scheduling.plan import AppointmentFacts, NotWanted, RuleFacts, Wanted, decide
from clinic_reminders.scheduling.timing import RuleTiming, Window, due_at, next_allowed, seconds_left_in_window

DENVER = ZoneInfo("America/Denver")
CHICAGO = ZoneInfo("America/Chicago")
TWO_DAYS_AT_10 = RuleTiming(days_before=2, at_local_time=time(10, 0))
TWO_HOURS = RuleTiming(minutes_before=120)
WINDOW = Window()


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone).astimezone(UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("appointment", "expected_local"),
    [
        # Spring forward in the US on 2030-03-10: before, across, and after the switch.
        (local(DENVER, 2030, 3, 11, 9, 0), datetime(2030, 3, 9, 10, 0)),
        (local(DENVER, 2030, 3, 12, 9, 0), datetime(2030, 3, 10, 10, 0)),
        (local(DENVER, 2030, 3, 13, 9, 0), datetime(2030, 3, 11, 10, 0)),
        # Fall back on 2030-11-03.
        (local(DENVER, 2030, 11, 4, 9, 0), datetime(2030, 11, 2, 10, 0)),
        (local(DENVER, 2030, 11, 5, 9, 0), datetime(2030, 11, 3, 10, 0)),
        (local(DENVER, 2030, 11, 6, 9, 0), datetime(2030, 11, 4, 10, 0)),
    ],
)
def test_it_keeps_the_local_clock_time_across_dst(appointment: datetime, expected_local: datetime) -> None:
    due = due_at(TWO_DAYS_AT_10, appointment, DENVER)
    assert due.tzinfo is UTC or due.utcoffset() is not None
    assert due.astimezone(DENVER).replace(tzinfo=None) == expected_local


def test_it_moves_a_time_skipped_by_dst_forward() -> None:
    due = due_at(RuleTiming(days_before=0, at_local_time=time(2, 30)), local(DENVER, 2030, 3, 10, 9, 0), DENVER)
    assert due.astimezone(DENVER).replace(tzinfo=None) == datetime(2030, 3, 10, 3, 30)


def test_it_counts_hours_before_in_real_time_across_dst() -> None:
    appointment = local(DENVER, 2030, 3, 10, 3, 30)  # 1.5 h after the switch at 2:00 → 3:00
    assert (appointment - due_at(TWO_HOURS, appointment, DENVER)).total_seconds() == 7200


def test_two_clinics_in_two_zones_get_the_same_local_time() -> None:
    denver = due_at(TWO_DAYS_AT_10, local(DENVER, 2030, 6, 12, 9, 0), DENVER)
    chicago = due_at(TWO_DAYS_AT_10, local(CHICAGO, 2030, 6, 12, 9, 0), CHICAGO)
    assert denver.astimezone(DENVER).time() == chicago.astimezone(CHICAGO).time() == time(10, 0)
    assert (denver - chicago).total_seconds() == 3600


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (local(DENVER, 2030, 6, 10, 7, 59), local(DENVER, 2030, 6, 10, 8, 0)),
        (local(DENVER, 2030, 6, 10, 8, 0), local(DENVER, 2030, 6, 10, 8, 0)),
        (local(DENVER, 2030, 6, 10, 20, 59), local(DENVER, 2030, 6, 10, 20, 59)),
        (local(DENVER, 2030, 6, 10, 21, 0), local(DENVER, 2030, 6, 11, 8, 0)),
        (local(DENVER, 2030, 6, 10, 23, 30), local(DENVER, 2030, 6, 11, 8, 0)),
    ],
)
def test_it_never_contacts_a_patient_at_night(moment: datetime, expected: datetime) -> None:
    assert next_allowed(moment, DENVER, WINDOW) == expected


def test_it_says_how_long_a_message_may_wait_before_the_window_closes() -> None:
    assert seconds_left_in_window(local(DENVER, 2030, 6, 10, 20, 0), DENVER, WINDOW) == 3600
    assert seconds_left_in_window(local(DENVER, 2030, 6, 10, 22, 0), DENVER, WINDOW) == 0


def facts(starts_at: datetime, status: str = "scheduled", kind: str = "in-person") -> AppointmentFacts:
    return AppointmentFacts(starts_at=starts_at, status=status, kind=kind, clinic_zone=DENVER, patient_zone=DENVER)


RULE = RuleFacts(timing=TWO_DAYS_AT_10, kinds=("in-person", "telehealth"), skip_if_confirmed=True)


def test_a_reminder_booked_late_goes_out_at_the_next_allowed_moment() -> None:
    now = local(DENVER, 2030, 6, 10, 12, 0)
    assert decide(facts(local(DENVER, 2030, 6, 11, 15, 0)), RULE, WINDOW, now) == Wanted(now)
    late_evening = local(DENVER, 2030, 6, 10, 22, 0)
    assert decide(facts(local(DENVER, 2030, 6, 11, 15, 0)), RULE, WINDOW, late_evening) == Wanted(
        local(DENVER, 2030, 6, 11, 8, 0)
    )


@pytest.mark.parametrize(
    ("appointment", "status", "reason"),
    [
        (facts(local(DENVER, 2030, 6, 10, 9, 0)), "missed", "started before the reminder could go out"),
        (facts(local(DENVER, 2030, 6, 11, 7, 30)), "missed", "no moment inside the allowed hours"),
        (facts(local(DENVER, 2030, 6, 20, 9, 0), status="cancelled"), "cancelled", "cancelled"),
        (facts(local(DENVER, 2030, 6, 20, 9, 0), status="confirmed"), "skipped", "already confirmed"),
        (facts(local(DENVER, 2030, 6, 20, 9, 0), kind="group"), "skipped", "does not apply"),
    ],
)
def test_it_explains_every_reminder_it_does_not_want(appointment: AppointmentFacts, status: str, reason: str) -> None:
    now = local(DENVER, 2030, 6, 10, 22, 0)
    decision = decide(appointment, RULE, WINDOW, now)
    assert isinstance(decision, NotWanted)
    assert decision.status == status
    assert reason in decision.reason


def test_a_rule_is_either_clock_or_relative() -> None:
    with pytest.raises(ValueError, match="either"):
        RuleTiming(days_before=1, at_local_time=time(9), minutes_before=60)
    with pytest.raises(ValueError, match="either"):
        RuleTiming()
