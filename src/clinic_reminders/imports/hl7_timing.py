"""When an HL7 SIU appointment starts and how long it lasts, from whichever segments say so.

HL7 2.5 moved an appointment's timing from SCH-9, SCH-10 and SCH-11 (kept only for backward compatibility) to
TQ1, and AIS holds the service's own timing. Interface engines send the old fields, the new ones or both, and
both do not always agree: a stale SCH-11 once put a 2027 visit in 2020. So the newer ones come first:

    start     TQ1-7, AIS-4, SCH-11.4, AIL-6, AIP-6, AIG-8: the first that reads
    duration  TQ1-6 (quantity^units), TQ1-8 (the end, with a TQ1-7 start), AIS-7/8, SCH-9/10, SCH-11.3 ("M30",
              "S1800"), SCH-11.5 (the end, with an SCH-11.4 start), AIL-9/10, AIP-9/10, AIG-11/12

A start is required: when none reads, the message is rejected. A start that does not read while a later one
does, an SCH-11.4 that disagrees with the start taken, and a duration that does not read (another source, else
none, is taken) are warnings on the import's report. Units are codes or words, in any case, as HL7 versions and
UCUM write them: minutes (MIN, min, M), hours (H, HR), seconds (S, s, SEC), days (D); none means minutes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from . import fields
from .hl7_messages import Message, Segment, timestamp
from .records import RecordError

Note = Callable[[str, str], None]  # (field, message): a warning on the import's report

_MINUTES_PER = {
    **dict.fromkeys(("", "M", "MIN", "MINS", "MINUTE", "MINUTES"), 1.0),
    **dict.fromkeys(("H", "HR", "HRS", "HOUR", "HOURS"), 60.0),
    **dict.fromkeys(("S", "SEC", "SECS", "SECOND", "SECONDS"), 1 / 60),
    **dict.fromkeys(("D", "DAY", "DAYS"), 24 * 60.0),
}
_TQ_DURATION = re.compile(r"([SMHD]?)(\d+(?:\.\d+)?)", re.IGNORECASE)  # TQ.3: S1800, M30, H1, D1 (or plain)
_UNITS = "use minutes (MIN), hours (H) or seconds (S)"


@dataclass(frozen=True)
class Timing:
    start: datetime  # naive: the clinic's clock
    start_field: str
    duration: int | None  # minutes; None: not given


def read(message: Message, sch: Segment, note: Note) -> Timing:
    """The appointment's start and duration; raises `RecordError` when no start reads."""
    tq1, ais = message.first("TQ1"), message.first("AIS")
    resources = [s for s in (message.first("AIL"), message.first("AIP"), message.first("AIG")) if s is not None]
    starts = [("TQ1-7", tq1.value(7))] if tq1 is not None else []
    starts += [("AIS-4", ais.value(4))] if ais is not None else []
    starts.append(("SCH-11.4", sch.value(11, 4)))
    starts += [(f"{s.name}-{_start_at(s)}", s.value(_start_at(s))) for s in resources]
    field, start = _start(starts, note)
    _compare_with_sch_11(sch, field, start, note)
    return Timing(start, field, _duration(sch, tq1, ais, resources, field, start, note))


def _start_at(segment: Segment) -> int:
    return 8 if segment.name == "AIG" else 6


def _start(starts: list[tuple[str, str]], note: Note) -> tuple[str, datetime]:
    given = [(field, value) for field, value in starts if value]
    if not given:
        raise RecordError("TQ1-7", "missing: no start time in TQ1, AIS, SCH-11, AIL, AIP or AIG")
    unreadable: list[RecordError] = []
    for field, value in given:
        try:
            start = timestamp(value, field)
        except RecordError as exc:
            unreadable.append(exc)
            continue
        for failed in unreadable:
            note(failed.field, f"{failed.message}; the start is taken from {field}")
        return field, start
    raise unreadable[0]


def _compare_with_sch_11(sch: Segment, field: str, start: datetime, note: Note) -> None:
    if field == "SCH-11.4" or not sch.value(11, 4):
        return
    try:
        old = timestamp(sch.value(11, 4), "SCH-11.4")
    except RecordError:
        return
    naive = old.tzinfo is None or start.tzinfo is None
    if (old.replace(tzinfo=None) != start.replace(tzinfo=None)) if naive else old != start:
        note("SCH-11.4", f"another start than {field}, which is taken (SCH-11 is the timing of HL7 before 2.5)")


def _duration(
    sch: Segment,
    tq1: Segment | None,
    ais: Segment | None,
    resources: list[Segment],
    start_field: str,
    start: datetime,
    note: Note,
) -> int | None:
    unusable: list[RecordError] = []
    for field, read_minutes in _durations(sch, tq1, ais, resources, start_field, start):
        try:
            minutes = read_minutes()
        except RecordError as exc:
            unusable.append(exc)
            continue
        for failed in unusable:
            note(failed.field, f"{failed.message}; the duration is taken from {field}")
        return minutes
    for failed in unusable:
        note(failed.field, f"{failed.message}; dropped")
    return None


def _durations(
    sch: Segment, tq1: Segment | None, ais: Segment | None, resources: list[Segment], start_field: str, start: datetime
) -> Iterator[tuple[str, Callable[[], int]]]:
    """The durations the message gives, in the order they are believed, each read when asked for."""
    if tq1 is not None:
        if tq1.value(6, 1):
            yield "TQ1-6", lambda: _quantity(tq1.value(6, 1), tq1.value(6, 2, 1) or tq1.value(6, 2, 2), "TQ1-6")
        if tq1.value(8) and start_field == "TQ1-7":
            yield "TQ1-8", lambda: _until(tq1.value(8), "TQ1-8", start)
    for segment, n in ((ais, 7), (sch, 9)):
        if segment is not None and segment.value(n):
            yield f"{segment.name}-{n}", _units_of(segment, n)
    if sch.value(11, 3):
        yield "SCH-11.3", lambda: _tq_duration(sch.value(11, 3))
    if sch.value(11, 5) and start_field == "SCH-11.4":
        yield "SCH-11.5", lambda: _until(sch.value(11, 5), "SCH-11.5", start)
    for segment in resources:
        n = _start_at(segment) + 3
        if segment.value(n):
            yield f"{segment.name}-{n}", _units_of(segment, n)


def _units_of(segment: Segment, n: int) -> Callable[[], int]:
    """SEG-n in the units of SEG-(n+1), a code or its text (CE: MIN^minutes^ANS+)."""
    units = segment.value(n + 1, 1) or segment.value(n + 1, 2)
    return lambda: _quantity(segment.value(n), units, f"{segment.name}-{n}", f"{segment.name}-{n + 1}")


def _quantity(value: str, units: str, field: str, units_field: str | None = None) -> int:
    per = _MINUTES_PER.get(units.strip().upper())
    if per is None:
        raise RecordError(units_field or field, _UNITS)
    return _whole(fields.number(value, field) * per, field)


def _tq_duration(value: str) -> int:
    match = _TQ_DURATION.fullmatch(value.strip())
    if match is None:
        raise RecordError("SCH-11.3", "not a duration such as M30 (minutes), H1 (hours) or S1800 (seconds)")
    return _whole(float(match.group(2)) * _MINUTES_PER[match.group(1).upper()], "SCH-11.3")


def _until(end: str, field: str, start: datetime) -> int:
    ends = timestamp(end, field)
    if (ends.tzinfo is None) != (start.tzinfo is None):
        ends = ends.replace(tzinfo=start.tzinfo)  # one with an offset, one without: both on the clinic's clock
    return _whole((ends - start).total_seconds() / 60, field)


def _whole(minutes: float, field: str) -> int:
    """Seconds that do not make whole minutes round up to the next minute."""
    return fields.minutes(math.ceil(round(minutes, 6)) if math.isfinite(minutes) else minutes, field)
