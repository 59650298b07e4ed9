"""FHIR R4 JSON: a Bundle of Appointment and Patient resources (Location and Practitioner ones are looked up), or
a single Appointment or Patient.

An appointment's participants name its Patient (in the bundle by `fullUrl` or `Patient/id`, or already imported
under that id), its Location (the clinic, by name) and its Practitioner (the provider, by name); a reference
that is not in the bundle may carry the name as `display`. External ids are the resources' `id`, else their
first `identifier`. Status: booked, pending -> scheduled; cancelled, entered-in-error -> cancelled; noshow ->
no-show. Patients are imported before appointments, each in bundle order; other resources are only looked up.

A file is parsed within bounds, so that a broken or hostile one is refused in a line (exit 2) instead of taking
the memory, the stack or the CPU: at most 128 MiB (a night's schedule is tens of MiB), objects and arrays nested
at most 64 deep (a FHIR resource nests about ten), numbers of at most 32 characters (FHIR's decimals have 18
digits), and no NaN or Infinity, which JSON does not have.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from . import fields
from .records import (
    AppointmentRecord,
    ImportStatus,
    Items,
    PatientRecord,
    PhoneUse,
    Record,
    RecordError,
    Rejection,
    UnusableInput,
)

STATUSES = {
    "booked": ImportStatus.SCHEDULED,
    "pending": ImportStatus.SCHEDULED,
    "cancelled": ImportStatus.CANCELLED,
    "entered-in-error": ImportStatus.CANCELLED,
    "noshow": ImportStatus.NO_SHOW,
}
_PHONE_USES = {"mobile": PhoneUse.MOBILE, "home": PhoneUse.HOME, "work": PhoneUse.WORK}
# Bounds on what is parsed (see the module's docstring)
MAX_BYTES = 128 * 2**20
MAX_DEPTH = 64
MAX_NUMBER_LENGTH = 32  # characters of a number as written, sign, point and exponent included


@dataclass(frozen=True)
class _Entry:
    number: int  # 1-based, as an operator counts
    resource: dict[str, Any]
    full_url: str

    @property
    def type(self) -> str:
        return str(self.resource.get("resourceType", ""))

    @property
    def where(self) -> str:
        return f"entry {self.number} ({self.type})" if self.type else f"entry {self.number}"


def read(data: bytes, region: str) -> Items:
    entries = _entries(parse(data))
    index: dict[str, _Entry] = {}
    for entry in entries:
        if entry.full_url:
            index[entry.full_url] = entry
        if entry.resource.get("id"):
            index[f"{entry.type}/{entry.resource['id']}"] = entry
    unreadable = [Rejection(e.where, "resource", "missing, or without resourceType") for e in entries if not e.type]
    patients: dict[int, Record | Rejection] = {}
    phones = fields.Phones(region)
    for entry in (e for e in entries if e.type == "Patient"):
        try:
            patients[entry.number] = Record(entry.where, patient=_patient(entry.resource, phones))
        except RecordError as exc:
            patients[entry.number] = Rejection(entry.where, f"Patient.{exc.field}", exc.message)
    items: Items = [*unreadable, *patients.values()]
    for entry in (e for e in entries if e.type == "Appointment"):
        try:
            items.append(Record(entry.where, appointment=_appointment(entry.resource, index, patients)))
        except RecordError as exc:
            items.append(Rejection(entry.where, f"Appointment.{exc.field}", exc.message))
    return items


def parse(data: bytes) -> Any:
    """The JSON document, within the bounds above; raises `UnusableInput` with a one-line reason."""
    if len(data) > MAX_BYTES:
        raise UnusableInput(f"larger than {MAX_BYTES // 2**20} MiB; split the Bundle into several files")
    try:
        document = json.loads(
            data.decode("utf-8-sig"), parse_int=_integer, parse_float=_decimal, parse_constant=_not_a_number
        )
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnusableInput(f"not JSON ({exc.__class__.__name__})") from None
    except RecursionError:  # deeper than the JSON decoder itself goes (about a thousand levels)
        raise UnusableInput(f"nested deeper than {MAX_DEPTH} levels") from None
    if _depth(document) > MAX_DEPTH:
        raise UnusableInput(f"nested deeper than {MAX_DEPTH} levels")
    return document


def _integer(text: str) -> int:
    return int(_bounded(text))


def _decimal(text: str) -> float:
    return float(_bounded(text))


def _bounded(number: str) -> str:
    if len(number) > MAX_NUMBER_LENGTH:
        raise UnusableInput(f"a number longer than {MAX_NUMBER_LENGTH} characters")
    return number


def _not_a_number(text: str) -> float:
    raise UnusableInput(f"{text} is not a JSON number")


def _depth(document: Any) -> int:
    """How deep objects and arrays nest (a scalar: 0), without recursion."""
    deepest, level = 0, [(document, 1)]
    while level:
        value, depth = level.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if children is not None:
            deepest = max(deepest, depth)
            if depth <= MAX_DEPTH:  # past the bound, how much deeper does not matter
                level.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def _entries(document: Any) -> list[_Entry]:
    if not isinstance(document, dict):
        raise UnusableInput("not a FHIR resource (a JSON object with resourceType)")
    if document.get("resourceType") in ("Appointment", "Patient"):
        return [_Entry(1, document, "")]
    if document.get("resourceType") != "Bundle":
        raise UnusableInput("not a FHIR Bundle, Appointment or Patient")
    raw = document.get("entry", [])
    if not isinstance(raw, list):
        raise UnusableInput("Bundle.entry is not a list")
    entries = [
        _Entry(n, e["resource"], str(e.get("fullUrl", "")))
        if isinstance(e, dict) and isinstance(e.get("resource"), dict)
        else _Entry(n, {}, "")  # rejected: it has no resource
        for n, e in enumerate(raw, start=1)
    ]
    if entries and not any(e.type in ("Appointment", "Patient") for e in entries):
        raise UnusableInput("the Bundle holds no Appointment or Patient")
    return entries


def _text(resource: dict[str, Any], key: str) -> str:
    value = resource.get(key)
    if value is None:
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise RecordError(key, "not a single value")
    return str(value).strip()


def _list(resource: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = resource.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise RecordError(key, "not a list of objects")
    return value


def _external_id(resource: dict[str, Any]) -> str:
    identifier = next((_text(i, "value") for i in _list(resource, "identifier") if _text(i, "value")), "")
    return fields.required(_text(resource, "id") or identifier, "id")


def _human_name(resource: dict[str, Any]) -> tuple[str, str]:
    """(given, family) of the official name, else the usual one, else the first."""
    names = _list(resource, "name")
    name = next((n for use in ("official", "usual") for n in names if n.get("use") == use), names[0] if names else {})
    given = name.get("given", [])
    first = given[0] if isinstance(given, list) and given and isinstance(given[0], str) else ""
    return first.strip(), _text(name, "family")


def _patient(resource: dict[str, Any], phones: fields.Phones) -> PatientRecord:
    given, family = _human_name(resource)
    birth = _text(resource, "birthDate")
    return PatientRecord(
        external_id=_external_id(resource),
        first_name=fields.person_name(given, "name.given"),
        last_name=fields.person_name(family, "name.family"),
        date_of_birth=fields.birth_date(fields.iso_date(birth, "birthDate"), "birthDate") if birth else None,
        language=_language(resource),
        phones=fields.phones(
            phones.read(_text(t, "value"), _PHONE_USES.get(_text(t, "use"), PhoneUse.HOME), "telecom")
            for t in _list(resource, "telecom")
            if _text(t, "system") in ("phone", "sms") and _text(t, "use") not in ("old", "temp") and _text(t, "value")
        ),
    )


def _language(resource: dict[str, Any]) -> str | None:
    spoken = sorted(_list(resource, "communication"), key=lambda c: c.get("preferred") is not True)
    for communication in spoken:
        concept = communication.get("language")
        if isinstance(concept, dict):
            codes = [_text(c, "code") for c in _list(concept, "coding")] + [_text(concept, "text")]
            code = next((c for c in codes if c), "")
            return fields.language(code, "communication.language") if code else None
    return None


def _appointment(
    resource: dict[str, Any], index: dict[str, _Entry], patients: dict[int, Record | Rejection]
) -> AppointmentRecord:
    status = _text(resource, "status")
    if status not in STATUSES:
        raise RecordError("status", f"{status or '(none)'} is not imported; these are: {', '.join(STATUSES)}")
    start = fields.iso_datetime(fields.required(_text(resource, "start"), "start"), "start")
    duration = _text(resource, "minutesDuration")
    minutes = fields.minutes(fields.number(duration, "minutesDuration"), "minutesDuration") if duration else None
    if _text(resource, "end"):
        end = fields.iso_datetime(_text(resource, "end"), "end")
        if (end.tzinfo is None) != (start.tzinfo is None):
            raise RecordError("end", "give both start and end with a UTC offset, or neither")
        from_end = fields.minutes((end - start).total_seconds() / 60, "end")
        if minutes not in (None, from_end):
            raise RecordError("end", "disagrees with minutesDuration; give one of the two")
        minutes = from_end
    actors = _actors(resource, index)
    patient = actors.get("Patient")
    if patient is None:
        raise RecordError("participant", "no Patient among the participants")
    if patient.entry is not None and isinstance(patients.get(patient.entry.number), Rejection):
        raise RecordError("participant", f"its Patient ({patient.entry.where}) was rejected")
    concepts = [resource.get("appointmentType"), *_list(resource, "serviceType")]
    return AppointmentRecord(
        external_id=_external_id(resource),
        patient_external_id=_patient_id(patient),
        starts_at=start,
        clinic=_name(actors.get("Location")),
        provider=_name(actors.get("Practitioner")),
        duration_minutes=minutes,
        kind=fields.kind_of(_concept_words(c) for c in concepts if isinstance(c, dict)),
        status=STATUSES[status],
    )


@dataclass(frozen=True)
class _Actor:
    reference: str
    display: str
    entry: _Entry | None  # None: not in the bundle


def _actors(resource: dict[str, Any], index: dict[str, _Entry]) -> dict[str, _Actor]:
    """The first participant of each resource type (Patient, Location, Practitioner...)."""
    actors: dict[str, _Actor] = {}
    for participant in _list(resource, "participant"):
        actor = participant.get("actor")
        if not isinstance(actor, dict):
            continue
        reference = _text(actor, "reference")
        path = reference.rstrip("/").split("/")
        entry = index.get(reference) or index.get("/".join(path[-2:]))  # an absolute URL ends in Type/id
        kind = entry.type if entry else _text(actor, "type") or (path[-2] if len(path) > 1 else "")
        actors.setdefault(kind, _Actor(reference, _text(actor, "display"), entry))
    return actors


def _patient_id(actor: _Actor) -> str:
    if actor.entry is not None:
        return _external_id(actor.entry.resource)
    path = actor.reference.rstrip("/").split("/")
    if len(path) < 2 or path[-2] != "Patient":
        raise RecordError("participant", "its Patient reference is neither in the bundle nor Patient/id")
    return fields.required(path[-1], "participant")


def _name(actor: _Actor | None) -> str | None:
    """A Location's name, a Practitioner's given and family name, else the reference's display."""
    if actor is None:
        return None
    name = ""
    if actor.entry is not None and actor.entry.type == "Practitioner":
        name = " ".join(part for part in _human_name(actor.entry.resource) if part)
    elif actor.entry is not None:
        name = _text(actor.entry.resource, "name")
    return fields.optional(name or actor.display, "participant")


def _concept_words(concept: dict[str, Any]) -> str:
    codings = _list(concept, "coding")
    return " ".join([_text(concept, "text"), *(f"{_text(c, 'code')} {_text(c, 'display')}" for c in codings)])
