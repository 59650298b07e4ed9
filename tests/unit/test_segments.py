"""GSM-7 / UCS-2 detection and segment counting, checked against the GSM 03.38 table and Twilio's split rules."""

from __future__ import annotations

from decimal import Decimal

import pytest

from clinic_reminders.messaging.segments import (
    GSM7_BASIC,
    SegmentInfo,
    count_segments,
    estimate_cost,
    is_gsm7,
    non_gsm7_characters,
    to_gsm7,
)
from clinic_reminders.simulator.core import segments as simulator_segments


@pytest.mark.parametrize(
    ("char", "gsm"),
    [
        # Latin letters the GSM 03.38 basic table has (Spanish and Italian ones included)
        ("é", True),
        ("è", True),
        ("É", True),
        ("ñ", True),
        ("Ñ", True),
        ("ü", True),
        ("Ü", True),
        ("ì", True),
        ("ò", True),
        ("ù", True),
        ("à", True),
        ("¿", True),
        ("¡", True),
        ("Ç", True),
        ("ß", True),
        ("£", True),
        ("¥", True),
        ("§", True),
        ("Δ", True),
        ("€", True),  # extension table
        # ... and the ones it does not: Spanish acute vowels other than é, lower-case ç, Portuguese tildes
        ("á", False),
        ("í", False),
        ("ó", False),
        ("ú", False),
        ("Á", False),
        ("ç", False),
        ("ã", False),
        ("ê", False),
        ("’", False),
        ("`", False),
        ("😀", False),
    ],
)
def test_it_knows_the_gsm_03_38_alphabet(char: str, gsm: bool) -> None:
    assert is_gsm7(f"Hola {char}") is gsm
    assert count_segments(char).encoding == ("GSM-7" if gsm else "UCS-2")


def test_it_has_exactly_the_128_minus_escape_basic_characters() -> None:
    assert len(GSM7_BASIC) == 127


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", SegmentInfo("GSM-7", 0, 0)),
        ("Hi", SegmentInfo("GSM-7", 1, 2)),
        ("a" * 160, SegmentInfo("GSM-7", 1, 160)),
        ("a" * 161, SegmentInfo("GSM-7", 2, 161)),
        ("a" * 306, SegmentInfo("GSM-7", 2, 306)),  # 153 * 2
        ("a" * 307, SegmentInfo("GSM-7", 3, 307)),
        ("a" * 459, SegmentInfo("GSM-7", 3, 459)),
        ("a" * 460, SegmentInfo("GSM-7", 4, 460)),
        ("é" * 160, SegmentInfo("GSM-7", 1, 160)),
        # extension characters count twice
        ("€" * 80, SegmentInfo("GSM-7", 1, 160)),
        ("a" * 159 + "€", SegmentInfo("GSM-7", 2, 161)),
        ("a" * 158 + "[", SegmentInfo("GSM-7", 1, 160)),
        ("^{}\\[]~|€", SegmentInfo("GSM-7", 1, 18)),
        # an escape sequence is never split: 152 + a 2-septet char does not fit the 153 left in part one
        ("a" * 152 + "€" + "a" * 10, SegmentInfo("GSM-7", 2, 164)),
        ("a" * 152 + "€" + "a" * 152, SegmentInfo("GSM-7", 3, 306)),
        # UCS-2
        ("á" * 70, SegmentInfo("UCS-2", 1, 70)),
        ("á" * 71, SegmentInfo("UCS-2", 2, 71)),
        ("á" * 134, SegmentInfo("UCS-2", 2, 134)),  # 67 * 2
        ("á" * 135, SegmentInfo("UCS-2", 3, 135)),
        ("a" * 69 + "á", SegmentInfo("UCS-2", 1, 70)),
        ("a" * 70 + "á", SegmentInfo("UCS-2", 2, 71)),
        # an emoji is a surrogate pair: two code units, and a pair is never split
        ("😀", SegmentInfo("UCS-2", 1, 2)),
        ("😀" * 35, SegmentInfo("UCS-2", 1, 70)),
        ("😀" * 35 + "a", SegmentInfo("UCS-2", 2, 71)),
        ("a" * 66 + "😀" + "a" * 10, SegmentInfo("UCS-2", 2, 78)),
        ("a" * 66 + "😀" + "a" * 66, SegmentInfo("UCS-2", 3, 134)),
        ("👍🏽", SegmentInfo("UCS-2", 1, 4)),
    ],
)
def test_it_counts_segments(text: str, expected: SegmentInfo) -> None:
    assert count_segments(text) == expected


def test_it_counts_a_typical_spanish_reminder_as_one_gsm_segment() -> None:
    text = "Alejandro, cita: Dr. Anna Keller, mié 30 sept a las 12:30. ¿Dudas? Llame. Señora Muñoz, año"
    assert count_segments(text) == SegmentInfo("GSM-7", 1, len(text))


def test_it_switches_to_ucs2_for_one_acute_accent() -> None:
    gsm = count_segments("Su cita es el dia 30. " * 5)
    ucs = count_segments("Su cita es el día 30. " * 5)
    assert (gsm.encoding, gsm.segments) == ("GSM-7", 1)
    assert (ucs.encoding, ucs.segments) == ("UCS-2", 2)


def test_it_lists_the_characters_that_force_ucs2() -> None:
    assert non_gsm7_characters("María, día, ñ, é, 😀, día") == ["í", "😀"]
    assert non_gsm7_characters("plain text") == []


@pytest.mark.parametrize(
    ("raw", "gsm"),
    [
        ("María", "Maria"),
        ("Sáb", "Sab"),
        ("José Muñoz", "José Muñoz"),  # é and ñ are GSM-7 already
        ("François", "Francois"),
        ("O’Brien", "O'Brien"),
        ("“Family” Clinic – East", '"Family" Clinic - East'),
        ("10:30\u202fa.\u00a0m.", "10:30 a. m."),
        ("Zoë 😀", "Zoe 😀"),  # no plain spelling for the emoji: it stays, and the text is honestly UCS-2
    ],
)
def test_it_spells_values_in_gsm7_where_it_can(raw: str, gsm: str) -> None:
    assert to_gsm7(raw) == gsm


@pytest.mark.parametrize(
    ("segments", "price", "cost"),
    [
        (0, Decimal("0.0083"), Decimal("0")),
        (1, Decimal("0.0083"), Decimal("0.0083")),
        (3, Decimal("0.0083"), Decimal("0.0249")),
        (2, Decimal("0.00790"), Decimal("0.01580")),
    ],
)
def test_it_estimates_cost_exactly(segments: int, price: Decimal, cost: Decimal) -> None:
    assert estimate_cost(segments, price) == cost
    assert isinstance(estimate_cost(segments, price), Decimal)


def test_it_refuses_negative_segments() -> None:
    with pytest.raises(ValueError, match="negative"):
        estimate_cost(-1, Decimal("0.0083"))


@pytest.mark.parametrize("body", ["", "Hi", "x" * 161, "€" * 81, "ç" * 71, "a😀" * 40, "^{}[]" * 33, "\f" + "x" * 150])
def test_the_simulator_counts_segments_as_the_service_does(body: str) -> None:
    assert simulator_segments(body) == max(1, count_segments(body).segments)
