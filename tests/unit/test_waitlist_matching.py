"""The waitlist's pure rules: whose wish a freed slot suits, who a wave texts (size, one per patient, consent,
busy, quiet hours in the patient's zone), when the next wave and the offers are due, and what the texts say."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from clinic_reminders.messaging.segments import count_segments
from clinic_reminders.scheduling.timing import Window
from clinic_reminders.waitlist.matching import (
    Candidate,
    Opening,
    Wish,
    closes_at,
    next_wave_at,
    offer_expires,
    suits,
    wave,
)
from clinic_reminders.waitlist.texts import Answer, answer_text, offer_text

NEW_YORK, LOS_ANGELES = ZoneInfo("America/New_York"), ZoneInfo("America/Los_Angeles")
# Tuesday Dec 8, 2026, 3:00 PM in New York, 30 minutes with provider 7 at clinic 1.
SLOT = Opening(1, 7, "in-person", datetime(2026, 12, 8, 20, 0, tzinfo=UTC), 30, NEW_YORK)
NOON_NY = datetime(2026, 12, 7, 17, 0, tzinfo=UTC)
WINDOW = Window(time(8), time(21))


@pytest.mark.parametrize(
    ("wish", "suited"),
    [
        (Wish(), True),
        (Wish(clinic_id=1, provider_id=7, kind="in-person"), True),
        (Wish(clinic_id=2), False),
        (Wish(provider_id=8), False),
        (Wish(kind="telehealth"), False),
        (Wish(earliest=date(2026, 12, 8), latest=date(2026, 12, 8)), True),  # the clinic's date, not UTC's
        (Wish(earliest=date(2026, 12, 9)), False),
        (Wish(latest=date(2026, 12, 7)), False),
        (Wish(weekdays=(1,)), True),  # Tuesday
        (Wish(weekdays=(0, 2, 3, 4)), False),
        (Wish(day_starts=time(15), day_ends=time(15, 30)), True),  # the whole visit fits the hours
        (Wish(day_ends=time(15, 15)), False),
        (Wish(day_starts=time(15, 1)), False),
        (Wish(current_start=datetime(2026, 12, 20, 15, 0, tzinfo=UTC)), True),  # sooner than their appointment
        (Wish(current_start=datetime(2026, 12, 1, 15, 0, tzinfo=UTC)), False),  # later: they keep theirs
    ],
)
def test_it_offers_a_slot_only_to_the_wishes_it_suits(wish: Wish, suited: bool) -> None:
    assert suits(wish, SLOT) is suited


def _candidates(*specs: tuple[int, ZoneInfo, bool, bool]) -> list[Candidate]:
    return [Candidate(i, patient, zone, reachable, busy) for i, (patient, zone, reachable, busy) in enumerate(specs)]


def test_a_wave_takes_the_first_who_may_be_texted_now_one_offer_per_patient() -> None:
    candidates = _candidates(
        (1, NEW_YORK, True, False),
        (1, NEW_YORK, True, False),  # the same patient's second entry
        (2, NEW_YORK, False, False),  # no consent, opted out, or no mobile
        (3, NEW_YORK, True, True),  # an open offer of another slot
        (4, NEW_YORK, True, False),
        (5, NEW_YORK, True, False),
    )
    chosen = wave(candidates, 2, NOON_NY, WINDOW)
    assert [c.patient_id for c in chosen.chosen] == [1, 4]
    assert chosen.opens_at is None
    assert [c.patient_id for c in wave(candidates, 5, NOON_NY, WINDOW).chosen] == [1, 4, 5]


def test_a_wave_keeps_quiet_hours_in_each_patients_zone() -> None:
    early_ny = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)  # 9:00 in New York, 6:00 in Los Angeles
    candidates = _candidates((1, LOS_ANGELES, True, False), (2, NEW_YORK, True, False))
    chosen = wave(candidates, 5, early_ny, WINDOW)
    assert [c.patient_id for c in chosen.chosen] == [2]
    assert chosen.opens_at == datetime(2026, 12, 7, 16, 0, tzinfo=UTC)  # 8:00 in Los Angeles


def test_waves_follow_each_other_and_wait_for_the_morning_when_all_are_asleep() -> None:
    closes = closes_at(SLOT.starts_at, 2)
    assert closes == datetime(2026, 12, 8, 18, 0, tzinfo=UTC)
    now = NOON_NY
    assert next_wave_at(now, 10, None, closes, offered=True) == now + timedelta(minutes=10)
    sooner = now + timedelta(minutes=4)
    assert next_wave_at(now, 10, sooner, closes, offered=True) == sooner
    morning = datetime(2026, 12, 8, 13, 0, tzinfo=UTC)
    assert next_wave_at(now, 10, morning, closes, offered=False) == morning
    assert next_wave_at(closes - timedelta(minutes=3), 10, None, closes, offered=True) == closes


def test_an_offer_is_open_for_its_minutes_but_never_past_the_cut_off() -> None:
    closes = closes_at(SLOT.starts_at, 2)
    assert offer_expires(NOON_NY, closes, None) == closes
    assert offer_expires(NOON_NY, closes, 60) == NOON_NY + timedelta(hours=1)
    assert offer_expires(closes - timedelta(minutes=10), closes, 60) == closes


def test_the_offer_names_the_time_and_the_provider_in_one_segment_and_how_to_opt_out() -> None:
    when = {"starts_at": SLOT.starts_at, "zone": "America/New_York"}
    english = offer_text("en", **when, clinic="Riverside", provider="Dr. Chen")
    assert english == "Riverside: a time opened up. Reply YES to take Tue Dec 8, 3:00 PM with Dr. Chen. STOP=opt out"
    spanish = offer_text("es-MX", **when, clinic="Riverside", provider="Dra. Núñez")  # ñ is GSM-7, ú is not
    assert (
        spanish == "Riverside: se libero una hora. Responda SI para tomar mar 8 dic, 15:00 con Dra. Nuñez. STOP=baja"
    )  # ñ is GSM-7, ú is not
    long = offer_text(
        "en", **when, clinic="Riverside Family Medicine and Pediatrics", provider="Dr. Alexandra Montgomery"
    )
    assert count_segments(long).segments == 1 and "STOP=opt out" in long and "Tue Dec 8, 3:00 PM" in long
    assert offer_text("en", **when, clinic="Riverside", provider="").endswith("take Tue Dec 8, 3:00 PM. STOP=opt out")


def test_the_answers_say_booked_or_just_taken_in_the_patients_language() -> None:
    facts = {"starts_at": SLOT.starts_at, "zone": "America/New_York", "clinic": "Riverside", "phone": "(212) 555-0100"}
    booked = answer_text(Answer.BOOKED, "en", **facts, provider="Dr. Chen")
    assert (
        booked
        == "Thank you, you are booked: Tue Dec 8, 3:00 PM with Dr. Chen, Riverside. To change it call (212) 555-0100."
    )
    assert answer_text(Answer.TOO_LATE, "es", **facts, provider="") == (
        "Perdone, esa hora ya se tomo. Sigue en nuestra lista de espera. Riverside"
    )
    assert count_segments(booked).segments == 1


def test_a_wave_that_found_everyone_busy_waits_for_the_first_of_their_offers_to_close() -> None:
    closes = closes_at(SLOT.starts_at, 2)
    frees = NOON_NY + timedelta(hours=3)
    assert next_wave_at(NOON_NY, 10, None, closes, offered=False, busy_until=frees) == frees
    soon = NOON_NY + timedelta(minutes=4)  # never sooner than the pace of the waves
    assert next_wave_at(NOON_NY, 10, None, closes, offered=False, busy_until=soon) == NOON_NY + timedelta(minutes=10)
    assert next_wave_at(NOON_NY, 10, None, closes, offered=True, busy_until=frees) == NOON_NY + timedelta(minutes=10)
    assert next_wave_at(NOON_NY, 10, None, closes, offered=False, busy_until=closes + timedelta(days=1)) == closes
