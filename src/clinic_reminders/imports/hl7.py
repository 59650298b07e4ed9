"""HL7 v2 SIU scheduling and ADT patient messages, one after another (CR or LF between segments) or MLLP-framed.

SIU events: S12 new, S13 rescheduled, S14 modified (all three: scheduled), S15 cancelled, S17 deleted (cancelled
here), S26 no-show. ADT events that register or update a patient (A04, A05, A08, A28, A31) update the patient
alone: a new phone number or language reaches the reminders before the next appointment message does. Other ADT
events (admissions, transfers, merges) are not imported. Where each value is read:

    appointment id  SCH-2 (filler id), else SCH-1 (placer id)
    start           TQ1-7, else AIS-4, SCH-11.4, AIL-6, AIP-6, AIG-8 (`hl7_timing`): YYYYMMDDHHMM[SS][+/-ZZZZ],
                    the clinic's clock without an offset
    duration        TQ1-6, TQ1-8, AIS-7/8, SCH-9/10, SCH-11.3, SCH-11.5, AIL-9/10, AIP-9/10, AIG-11/12
    kind            SCH-8 (type) or AIS-3 (service): a word such as telehealth, video or virtual makes it telehealth
    clinic          the location code of AIL-3, else PV1-3 (`hl7_resources`): the office's mapping of PMS codes,
                    else a clinic of that name or id
    provider        the code of AIP-3, else PV1-7 or AIG-3: the mapping, else a provider named as AIP-3 names them
    patient         PID-3 (the MR identifier, else the first), PID-5 name (in a readable case when sent in
                    capitals), PID-7 birth date, PID-15 language, phones from PID-13 (home) and PID-14 (work);
                    equipment CP (cellular) makes a number a mobile

Required: SCH-2 (or SCH-1), a start, PID-3 and PID-5. Any other value that does not read is dropped with a
warning on the import's report (a work number in a local format, a birth date with dashes, an unknown duration
unit), and the appointment is imported without it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from . import fields, hl7_resources, hl7_timing, truncation
from .hl7_messages import Message, Segment, cut_field, day, split_messages
from .hl7_timing import Note
from .records import (
    AppointmentRecord,
    ImportStatus,
    Items,
    Notice,
    PatientRecord,
    PhoneRecord,
    PhoneUse,
    Record,
    RecordError,
    Rejection,
)

EVENTS = {
    "S12": ImportStatus.SCHEDULED,
    "S13": ImportStatus.SCHEDULED,
    "S14": ImportStatus.SCHEDULED,
    "S15": ImportStatus.CANCELLED,
    "S17": ImportStatus.CANCELLED,
    "S26": ImportStatus.NO_SHOW,
}
ADT_EVENTS = ("A04", "A05", "A08", "A28", "A31")  # register, pre-admit, update; add and update person
_NOT_PHONES = frozenset({"INTERNET", "X.400", "FX", "BP"})  # XTN-3 equipment: email, fax, beeper


def read(data: bytes, region: str) -> Items:
    split = split_messages(_decode_file(data))
    phones = fields.Phones(region)
    items: Items = []
    for number, text in enumerate(split.messages, start=1):
        cut = split.cut if number == len(split.messages) else None
        where = f"message {number}"
        try:
            if cut is not None and cut_field(text).startswith("MSH"):
                raise RecordError(cut_field(text), cut)  # before its control id, which may be cut too
            message = Message(text)
            control_id = message.segments[0].value(10)
            where = f"{where} (control id {control_id})" if control_id else where
            if cut is not None:
                raise RecordError(cut_field(text), cut)
            items.append(record(message, where, phones))
        except RecordError as exc:
            items.append(Rejection(where, exc.field, exc.message))
    return items


def decode(data: bytes) -> tuple[str, str]:
    """The text and its codec: UTF-8, else ISO 8859-1 (HL7's usual 8-bit set, MSH-18 "8859/1"), which reads any
    byte. An answer to the sender goes back in the same codec."""
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _decode_file(data: bytes) -> str:
    """As `decode`, except that a UTF-8 character cut by the end of the file is the cut it is (`truncation`),
    not a reason to read the whole file as ISO 8859-1."""
    try:
        return truncation.decode_utf8(data)
    except UnicodeDecodeError:
        return data.decode("latin-1")


def record(message: Message, where: str, phones: fields.Phones) -> Record:
    """One parsed message as a record; raises `RecordError` naming the field at fault. Optional values that do not
    read are dropped with a warning (`Record.notices`) rather than costing the appointment."""
    notices: list[Notice] = []

    def note(field: str, text: str) -> None:
        notices.append(Notice(where, field, text))

    msh = message.segments[0]
    kind, event = msh.value(9, 1), msh.value(9, 2)
    if kind == "ADT":
        if event not in ADT_EVENTS:
            raise RecordError(
                "MSH-9", f"ADT event {event or '(none)'} is not imported; these are: {', '.join(ADT_EVENTS)}"
            )
        patient = _patient(_segment(message, "PID"), phones, note)
        return Record(where, patient=patient, notices=tuple(notices))
    if kind != "SIU":
        raise RecordError("MSH-9", "not an SIU or ADT message")
    if event not in EVENTS:
        raise RecordError("MSH-9", f"event {event or '(none)'} is not imported; these are: {', '.join(EVENTS)}")
    sch, pid = _segment(message, "SCH"), _segment(message, "PID")
    patient = _patient(pid, phones, note)
    ais = message.first("AIS")
    timing = hl7_timing.read(message, sch, note)
    provider = hl7_resources.provider(message)
    appointment = AppointmentRecord(
        external_id=fields.required(sch.value(2) or sch.value(1), "SCH-2"),
        patient_external_id=patient.external_id,
        starts_at=timing.start,
        start_field=timing.start_field,
        provider=(provider.name or None) if provider else None,
        duration_minutes=timing.duration,
        kind=fields.kind_of([sch.value(8, 1), sch.value(8, 2), *([ais.value(3, 1), ais.value(3, 2)] if ais else [])]),
        status=EVENTS[event],
        location=hl7_resources.location(message),
        provider_code=provider,
    )
    return Record(where, patient=patient, appointment=appointment, notices=tuple(notices))


def _segment(message: Message, name: str) -> Segment:
    segment = message.first(name)
    if segment is None:
        raise RecordError(name, "segment missing")
    return segment


def _patient(pid: Segment, phones: fields.Phones, note: Note) -> PatientRecord:
    return PatientRecord(
        external_id=fields.required(_patient_id(pid), "PID-3"),
        first_name=fields.person_name(pid.value(5, 2), "PID-5.2"),
        last_name=fields.person_name(pid.value(5, 1), "PID-5.1"),
        date_of_birth=_optional(lambda: fields.birth_date(day(pid.value(7), "PID-7"), "PID-7"), note)
        if pid.value(7)
        else None,
        language=_optional(lambda: _language(pid), note),
        phones=fields.phones(_phones(pid, phones, note)),
    )


_T = TypeVar("_T")


def _optional(read_value: Callable[[], _T], note: Note) -> _T | None:
    """An optional value, or None (the stored one is kept) with a warning when it does not read."""
    try:
        return read_value()
    except RecordError as exc:
        note(exc.field, f"{exc.message}; dropped")
        return None


def _patient_id(pid: Segment) -> str:
    ids = [(pid.part(rep, 1), pid.part(rep, 5).upper()) for rep in pid.repetitions(3)]
    medical_record = [value for value, kind in ids if value and kind == "MR"]
    return next(iter(medical_record + [value for value, _ in ids if value]), pid.value(2))


def _language(pid: Segment) -> str | None:
    """PID-15's code ("es", "SPA"), or its text ("Spanish") when the code is local to the sending system."""
    code, text = pid.value(15, 1), pid.value(15, 2)
    if not (code or text):
        return None
    try:
        return fields.language(code or text, "PID-15")
    except RecordError:
        if code and text:
            return fields.language(text, "PID-15")
        raise


def _phones(pid: Segment, phones: fields.Phones, note: Note) -> list[PhoneRecord]:
    """The numbers that read; one that does not (a work number in a local format, another country's number
    without its country code) is dropped with a warning, and a patient left without one is said to be."""
    found: list[PhoneRecord] = []
    dropped = 0
    for n, use in ((13, PhoneUse.HOME), (14, PhoneUse.WORK)):
        for rep in pid.repetitions(n):
            use_code, equipment = pid.part(rep, 2).upper(), pid.part(rep, 3).upper()
            number = _number(pid, rep)
            if use_code == "NET" or equipment in _NOT_PHONES or not number:
                continue
            kind = PhoneUse.MOBILE if equipment == "CP" else PhoneUse.WORK if use_code == "WPN" else use
            try:
                found.append(phones.read(number, kind, f"PID-{n}"))
            except RecordError as exc:
                dropped += 1
                note(exc.field, f"{exc.message}; this number is dropped")
    if dropped and not found:
        note("PID-13", "no usable phone number: a new patient has no number to text (a known one keeps its numbers)")
    return found


def _number(pid: Segment, rep: str) -> str:
    """XTN: country (5), area (6) and local number (7) when given; else the unformatted (12) or legacy (1) one."""
    country, area, local = pid.part(rep, 5).lstrip("+"), pid.part(rep, 6), pid.part(rep, 7)
    if local:
        return f"+{country}{area}{local}" if country else f"{area}{local}"
    return pid.part(rep, 12) or pid.part(rep, 1)
