"""A file cut short anywhere (a transfer that broke off) imports exactly a prefix of its whole records, each with
every value it has in the whole file; the rest is refused, as a record or as the whole input. Never a shortened
value."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from clinic_reminders.imports import csv_file, hl7
from clinic_reminders.imports.records import Items, Record, Rejection, UnusableInput

FIXTURES = Path(__file__).parent.parent / "fixtures" / "imports"
HL7 = (FIXTURES / "schedule.hl7").read_text().splitlines()
HL7_MESSAGES = ["\r".join(HL7[:5]) + "\r", "\r".join(HL7[5:]) + "\r"]
COLUMNS = ["patient_id", "first_name", "last_name", "mobile_phone", "appointment_id", "clinic", "starts_at"]

names = st.text(st.characters(categories=["L", "Zs"], include_characters=",\"'-"), min_size=1, max_size=12).filter(
    str.strip
)
rows = st.lists(st.tuples(names, names, st.sampled_from(["", "(303) 555-0142", "+1 212 555 0143"])), max_size=6)


def schedule(people: list[tuple[str, str, str]], line_break: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=line_break)
    writer.writerow(COLUMNS)
    for n, (first, last, phone) in enumerate(people):
        writer.writerow([f"P{n}", first, last, phone, f"A{n}", "Riverside", f"2040-06-{10 + n}T09:00"])
    return out.getvalue().encode()


def assert_a_prefix_of_whole_records(whole: Items, cut: Items) -> None:
    records = [item for item in cut if isinstance(item, Record)]
    assert records == [item for item in whole if isinstance(item, Record)][: len(records)]
    assert all(isinstance(item, Rejection) for item in cut[len(records) :])
    assert len(cut) - len(records) <= 1  # the one record the cut fell in


@given(rows, st.sampled_from(["\n", "\r\n"]), st.data())
def test_a_csv_file_cut_anywhere_imports_a_prefix_of_its_whole_lines(
    people: list[tuple[str, str, str]], line_break: str, data: st.DataObject
) -> None:
    full = schedule(people, line_break)
    whole = csv_file.read(full, "US")
    assert len(whole) == len(people) and all(isinstance(item, Record) for item in whole)
    at = data.draw(st.integers(0, len(full) - 1), label="cut at byte")
    try:
        cut = csv_file.read(full[:at], "US")
    except UnusableInput:
        return  # refused whole (empty, or cut inside the header)
    assert_a_prefix_of_whole_records(whole, cut)
    if at < len(full) - len(line_break):  # the last line lost more than its line break
        assert len(cut) <= len(people)


@given(st.integers(1, 4), st.data())
def test_an_mllp_framed_hl7_file_cut_anywhere_imports_a_prefix_of_its_whole_messages(
    repeat: int, data: st.DataObject
) -> None:
    full = "".join(f"\x0b{message}\x1c\r" for message in HL7_MESSAGES * repeat).encode()
    whole = hl7.read(full, "US")
    at = data.draw(st.integers(0, len(full) - 1), label="cut at byte")
    try:
        cut = hl7.read(full[:at], "US")
    except UnusableInput:
        return
    assert_a_prefix_of_whole_records(whole, cut)


def test_a_plain_hl7_file_cut_anywhere_imports_whole_messages_or_the_last_without_its_last_segments() -> None:
    """The blind spot of plain HL7 (no end of message but the next MSH): a cut exactly between two segments
    leaves the last message whole-looking, without its last segments. Every other cut refuses it."""
    full = "".join(HL7_MESSAGES).encode()
    whole = hl7.read(full, "US")
    segment_ends = {i + 1 for i, byte in enumerate(full) if byte == 0x0D}
    for at in range(len("MSH"), len(full)):  # shorter: not HL7 at all
        cut = hl7.read(full[:at], "US")
        if at in segment_ends:
            *complete, _without_its_last_segments = cut
            assert_a_prefix_of_whole_records(whole, complete)
            continue
        assert_a_prefix_of_whole_records(whole, cut)
        assert isinstance(cut[-1], Rejection) and "cut short" in cut[-1].message
