"""HL7 v2 text: messages (one after another, or MLLP-framed), segments, fields, components, escapes, timestamps.

Written here rather than taken from a library: the SIU subset needs a hundred lines, and every message declares
its own separators in MSH-1 and MSH-2, which is all a parser has to honour.
"""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from . import truncation
from .records import RecordError, UnusableInput

MLLP_START, MLLP_END = "\x0b", "\x1c"
_SEGMENT_BREAK = re.compile(r"\r\n|\r|\n")
# DTM: YYYYMMDD[HH[MM[SS[.S...]]]][+/-ZZZZ]
_TIMESTAMP = re.compile(r"(\d{8})(?:(\d{2})(\d{2})?(\d{2})?(?:\.\d{1,4})?)?(?:([+-])(\d{2})(\d{2}))?")


CUT_SEGMENT = (
    "the file ends inside this segment, before its line break: it looks cut short, so the message is not imported"
)
CUT_FRAME = "the file ends inside this MLLP frame, before its end (FS): it looks cut short, so it is not imported"


@dataclass(frozen=True)
class Split:
    messages: list[str]
    cut: str | None = None  # why the last message is taken to be cut short (see `truncation`); None: whole


def split_messages(text: str) -> Split:
    """Each message's text: a new message begins at each MSH segment, inside MLLP frames (VT ... FS CR) or not.

    Framed, a message ends with its frame's FS; plain, each segment ends with a line break (CR, LF or CRLF), the
    file's last one too. The last message is marked cut when the file ends before that end."""
    text = text.removeprefix("\ufeff")
    if MLLP_START in text:
        return _frames(text)
    if not text.lstrip().startswith("MSH"):
        raise UnusableInput("not HL7 v2: the first segment is not MSH")
    ended = truncation.ends_with_line_break(text.rstrip(" \t"))
    return Split(_by_header(text), None if ended else CUT_SEGMENT)


def _frames(text: str) -> Split:
    messages: list[str] = []
    rest, frames = text, 0
    while rest.strip():
        before, start, rest = rest.partition(MLLP_START)
        if before.strip() or not start:
            raise UnusableInput(f"text outside the MLLP frames after frame {frames}")
        body, end, rest = rest.partition(MLLP_END)
        frames += 1
        messages += _by_header(body)
        if not end:
            return Split(messages, CUT_FRAME)
    return Split(messages)


def cut_field(text: str) -> str:
    """Where the end of a message's text falls: the field of its last segment ("PID-5.2", "MSH-10"), or the
    segment alone when the end falls in its name or the separators are not all there."""
    segments = [segment for segment in _SEGMENT_BREAK.split(text) if segment.strip()]
    header, last = (segments[0], segments[-1]) if segments else ("", "")
    name = last[:3]
    if not header.startswith("MSH") or len(header) < 5 or len(last) < 4:
        return name if len(name) == 3 else "MSH"
    field, component, repetition = header[3], header[4], header[5:6] or None
    values = last.split(field)
    number = len(values) - 1 + (name == "MSH")  # MSH-1 is the field separator itself
    if name == "MSH" and number <= 2:
        return f"MSH-{number}"
    components = values[-1].split(repetition)[-1].split(component) if repetition else values[-1].split(component)
    return f"{name}-{number}" + (f".{len(components)}" if len(components) > 1 else "")


def _by_header(text: str) -> list[str]:
    """Segments grouped into messages; segments before the first MSH form one of their own (to be rejected)."""
    messages: list[list[str]] = []
    for segment in _SEGMENT_BREAK.split(text):
        if not segment.strip():
            continue
        if segment.startswith("MSH") or not messages:
            messages.append([])
        messages[-1].append(segment)
    return ["\r".join(message) for message in messages]


@dataclass(frozen=True)
class Separators:
    field: str
    component: str
    repetition: str
    escape: str
    subcomponent: str

    def unescape(self, text: str) -> str:
        """\\F\\ \\S\\ \\T\\ \\R\\ \\E\\ stand for the separators themselves; other escapes are left as they are."""
        if not self.escape or self.escape not in text:
            return text
        by_code = {
            "F": self.field,
            "S": self.component,
            "T": self.subcomponent,
            "R": self.repetition,
            "E": self.escape,
        }
        esc = re.escape(self.escape)
        return re.sub(f"{esc}([FSTRE]){esc}", lambda m: by_code[m.group(1)], text)

    @property
    def encoding(self) -> str:
        """MSH-2, as the message declared it."""
        return f"{self.component}{self.repetition}{self.escape}{self.subcomponent}"

    def escaped(self, text: str) -> str:
        """Text to write as one value: separators as escapes (spaces when there is no escape character), and line
        breaks as spaces, since they would end the segment."""
        codes = {self.escape: "E", self.field: "F", self.component: "S", self.repetition: "R", self.subcomponent: "T"}
        codes.pop("", None)

        def one(char: str) -> str:
            if char in codes:
                return f"{self.escape}{codes[char]}{self.escape}" if self.escape else " "
            return " " if char in "\r\n" else char

        return "".join(map(one, text))


class Segment:
    """Fields by their HL7 number: `value(3, 1)` is SEG-3.1. For MSH, field 1 is the field separator itself."""

    def __init__(self, text: str, separators: Separators) -> None:
        parts = text.split(separators.field)
        self.name = parts[0].strip()
        self.fields = [self.name, separators.field, *parts[1:]] if self.name == "MSH" else parts
        self.separators = separators

    def repetitions(self, n: int) -> list[str]:
        raw = self.fields[n] if n < len(self.fields) else ""
        return [rep for rep in raw.split(self.separators.repetition) if rep] if raw else []

    def part(self, repetition: str, component: int = 1, sub: int = 1) -> str:
        components = repetition.split(self.separators.component)
        if component > len(components):
            return ""
        text = components[component - 1]
        subs = text.split(self.separators.subcomponent) if self.separators.subcomponent else [text]
        return self.separators.unescape(subs[sub - 1]).strip() if sub <= len(subs) else ""

    def value(self, n: int, component: int = 1, sub: int = 1) -> str:
        """The first repetition's component (and subcomponent), unescaped; "" when absent."""
        reps = self.repetitions(n)
        return self.part(reps[0], component, sub) if reps else ""


class Message:
    def __init__(self, text: str) -> None:
        lines = [line for line in _SEGMENT_BREAK.split(text) if line.strip()]
        header = lines[0] if lines else ""
        if not header.startswith("MSH") or len(header) < 6:
            raise RecordError("MSH", "the message does not start with an MSH segment")
        field = header[3]
        encoding = header[4:].split(field, 1)[0]
        if field.isalnum() or len(encoding) < 2 or len(set(field + encoding)) != 1 + len(encoding):
            raise RecordError("MSH-2", "no valid encoding characters (e.g. ^~\\&)")
        self.separators = Separators(field, encoding[0], encoding[1], encoding[2:3], encoding[3:4])
        self.segments = [Segment(line, self.separators) for line in lines]

    def first(self, name: str) -> Segment | None:
        return next((segment for segment in self.segments if segment.name == name), None)

    def all(self, name: str) -> list[Segment]:
        return [segment for segment in self.segments if segment.name == name]


def timestamp(value: str, field: str) -> datetime:
    """YYYYMMDDHH[MM[SS[.S]]][+/-ZZZZ]; without an offset the time is naive (the clinic's clock)."""
    match = _TIMESTAMP.fullmatch(value.strip())
    if match is None or match.group(2) is None:
        raise RecordError(field, "not an HL7 date and time (YYYYMMDDHHMM[SS][+/-ZZZZ])")
    digits, hour, minute, second, sign, off_h, off_m = match.groups()
    try:
        moment = datetime.combine(_date(digits), time(int(hour), int(minute or 0), int(second or 0)))
        if sign is None:
            return moment
        offset = timedelta(hours=int(off_h), minutes=int(off_m))
        return moment.replace(tzinfo=timezone(-offset if sign == "-" else offset))
    except ValueError:
        raise RecordError(field, "not a real date and time") from None


def day(value: str, field: str) -> date:
    """YYYYMMDD, with any time after it ignored (a birth date sent as a timestamp)."""
    match = _TIMESTAMP.fullmatch(value.strip())
    if match is not None:
        with suppress(ValueError):
            return _date(match.group(1))
    raise RecordError(field, "not an HL7 date (YYYYMMDD)")


def _date(digits: str) -> date:
    return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
