"""Where an HL7 SIU appointment takes place and who sees the patient: the codes the PMS gives them.

    location  AIL-3 (PL: point of care 3.1, else facility 3.4, else room 3.2; its description 3.9), else PV1-3,
              else an AIG whose resource type (AIG-4) is a location or room
    provider  AIP-3 (XCN: id 3.1, family name 3.2, given name 3.3, prefix 3.6), else PV1-7 (attending doctor),
              else an AIG whose resource type is a person (AIG-3: id^name, also "Family, Given")

A code is looked up in the office's mapping of PMS codes, then as a clinic's or provider's name (`imports.known`);
a provider without an id is known by their name. Names come in a readable case (`fields.readable_case`).
"""

from __future__ import annotations

from . import fields
from .hl7_messages import Message, Segment
from .records import Code

_PERSONS = frozenset(
    {"D", "DR", "DOC", "DOCTOR", "P", "PROV", "PROVIDER", "PHYS", "PHYSICIAN", "PRACTITIONER", "PERSONNEL", "STAFF"}
)
_PLACES = frozenset({"L", "LOC", "LOCATION", "ROOM", "CLINIC", "FACILITY", "DEPT", "DEPARTMENT"})
_LABEL_LENGTH = 200  # a name sent with a code: shown when mapping it, never required


def location(message: Message) -> Code | None:
    for segment in [*message.all("AIL"), *message.all("PV1")]:
        code = segment.value(3, 1) or segment.value(3, 4) or segment.value(3, 2)
        if code:
            field = f"{segment.name}-3"
            return Code(fields.required(code, field), field, name=_label(segment.value(3, 9)))
    aig = _resource(message, _PLACES)
    if aig is None:
        return None
    return Code(fields.required(aig.value(3, 1) or aig.value(3, 2), "AIG-3"), "AIG-3", name=_label(aig.value(3, 2)))


def provider(message: Message) -> Code | None:
    for segment, n in [*((s, 3) for s in message.all("AIP")), *((s, 7) for s in message.all("PV1"))]:
        name = _person(segment, n)
        code = segment.value(n, 1) or name
        if code:
            field = f"{segment.name}-{n}"
            title = _label(fields.readable_case(segment.value(n, 6)))
            return Code(fields.required(code, field), field, name=name, title=title)
    aig = _resource(message, _PERSONS)
    if aig is None:
        return None
    family, comma, given = aig.value(3, 2).partition(",")  # "CHEN, MARIA": family name first
    name = _label(fields.readable_case(f"{given.strip()} {family.strip()}" if comma else family.strip()))
    return Code(fields.required(aig.value(3, 1) or name, "AIG-3"), "AIG-3", name=name)


def _resource(message: Message, types: frozenset[str]) -> Segment | None:
    """The first AIG of these resource types (AIG-4, as a code or its text) that names a resource."""
    return next(
        (
            aig
            for aig in message.all("AIG")
            if (aig.value(3, 1) or aig.value(3, 2)) and {aig.value(4, 1).upper(), aig.value(4, 2).upper()} & types
        ),
        None,
    )


def _person(segment: Segment, n: int) -> str:
    """XCN given and family names as one name ("Maria Chen"), each in a readable case."""
    given, family = (fields.readable_case(segment.value(n, c)) for c in (3, 2))
    return _label(f"{given} {family}".strip())


def _label(text: str) -> str:
    """Text sent beside a code, or "" when it cannot be one (too long, control characters)."""
    text = text.strip()
    if len(text) > _LABEL_LENGTH or fields.CONTROL.search(text):
        return ""
    return text
