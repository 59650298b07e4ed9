"""HL7 v2 acknowledgements (original mode): the answer a sender waits for before it sends its next message.

AA: imported; an ERR segment of severity W for each warning of the import's report (a value dropped, a code
not mapped yet). AE: the record was rejected; MSA-3 and the ERR segment name the field at fault. AR: the message
could not be read at all, or the database failed (HL7's "reasons unrelated to the content": send it again).
The texts come from `RecordError`, which never repeats a value, so an ACK carries no patient data of its own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from .hl7_messages import Message, Separators

DEFAULT_SEPARATORS = Separators("|", "^", "~", "\\", "&")
DEFAULT_VERSION = "2.5.1"  # for an answer to a message whose MSH could not be read
MSA_TEXT_LENGTH = 80  # MSA-3 is an ST of 80 characters; ERR-8 carries the whole text
_FIELD = re.compile(r"([A-Z][A-Z0-9]{2})(?:-(\d+)(?:\.(\d+))?)?")  # "PID", "PID-5", "SCH-11.4"


class AckCode(StrEnum):
    ACCEPT = "AA"
    ERROR = "AE"
    REJECT = "AR"


@dataclass(frozen=True)
class AckError:
    """What went wrong: the field (an HL7 position such as "SCH-11.4", or a name such as "clinic") and why."""

    field: str
    text: str

    def __str__(self) -> str:
        return f"{self.field}: {self.text}"

    @property
    def location(self) -> list[str]:
        """ERR-2 (ERL): segment^sequence^field^repetition^component, when the field is an HL7 position."""
        match = _FIELD.fullmatch(self.field)
        if match is None:
            return []
        segment, field, component = match.groups()
        return [segment, "1", *([field] if field else []), *(["1", component] if component else [])]

    @property
    def hl7_code(self) -> tuple[str, str]:
        """ERR-3, from HL7 table 0357."""
        if self.text.startswith("missing"):
            return "101", "Required field missing"
        if self.text == "segment missing":
            return "100", "Segment sequence error"
        if self.text.startswith("unknown"):
            return "103", "Table value not found"  # a PMS code not mapped yet
        if "dropped" in self.text or "taken from" in self.text:
            return "102", "Data type error"
        return "207", "Application internal error"  # HL7 tools' usual code for a receiving application's rule


def build_ack(
    incoming: Message | None,
    code: AckCode,
    error: AckError | None = None,
    *,
    control_id: str,
    now: datetime,
    warnings: Sequence[AckError] = (),
) -> str:
    """The ACK to `incoming` (None: a message whose MSH could not be read), segments ended by CR.

    Sender and receiver are swapped, the separators, processing id and version are the incoming message's, and
    MSA-2 echoes its control id; `control_id` is the ACK's own.
    """
    msh = incoming.segments[0] if incoming is not None else None
    sep = incoming.separators if incoming is not None else DEFAULT_SEPARATORS

    def raw(n: int) -> str:
        return msh.fields[n] if msh is not None and n < len(msh.fields) else ""

    trigger = msh.value(9, 2) if msh is not None else ""
    message_type = sep.component.join(["ACK", sep.escaped(trigger), "ACK"]) if trigger else "ACK"
    header = [
        "MSH",
        sep.encoding,
        *(raw(5), raw(6), raw(3), raw(4)),
        now.astimezone(UTC).strftime("%Y%m%d%H%M%S+0000"),
        "",
        message_type,
        sep.escaped(control_id),
        raw(11) or "P",
        raw(12) or DEFAULT_VERSION,
    ]
    segments = [header, ["MSA", code.value, raw(10)]]  # MSH-1 is the separator between "MSH" and MSH-2
    if error is not None:
        segments[1].append(sep.escaped(str(error)[:MSA_TEXT_LENGTH]))
    for problem, severity in [*([(error, "E")] if error is not None else []), *((w, "W") for w in warnings)]:
        location = sep.component.join(sep.escaped(part) for part in problem.location)
        hl7_code = sep.component.join([*problem.hl7_code, "HL70357"])
        # ERR-2 location, ERR-3 HL7 error code, ERR-4 severity (E: error, W: warning), ERR-8 user message
        segments.append(["ERR", "", location, hl7_code, severity, "", "", "", sep.escaped(str(problem))])
    return "".join(f"{sep.field.join(fields)}\r" for fields in segments)
