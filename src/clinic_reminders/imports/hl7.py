"""HL7 v2 SIU scheduling and ADT patient messages, one after another (CR or LF between segments) or MLLP-framed.

SIU events: S12 new, S13 rescheduled, S14 modified (all three: scheduled), S15 cancelled, S17 deleted (cancelled
here), S26 no-show. ADT events that register or update a patient (A04, A05, A08, A28, A31) update the patient
alone: a new phone number or language reaches the reminders before the next appointment message does. Other ADT
events (admissions, transfers, merges) are not imported. Where each value is read:

    appointment id  SCH-2 (filler id), else SCH-1 (placer id)
    start           SCH-11.4, else AIS-4, AIL-6, AIP-6: YYYYMMDDHHMM[SS][+/-ZZZZ], the clinic's clock without
                    an offset
    duration        SCH-9 in SCH-10 units (minutes by default), else SCH-11.5 (the end), else AIS-7, AIL-9, AIP-9
    kind            SCH-8 (type) or AIS-3 (service): a word such as telehealth, video or virtual makes it telehealth
    clinic          AIL-3.1 (point of care), else AIL-3.4 (facility); by the clinic's name or id
    provider        AIP-3: given name (3.3) and family name (3.2)
    patient         PID-3 (the MR identifier, else the first), PID-5 name, PID-7 birth date, PID-15 language,
                    phones from PID-13 (home) and PID-14 (work); equipment CP (cellular) makes a number a mobile
"""

from __future__ import annotations

from datetime import datetime

from . import fields, truncation
from .hl7_messages import Message, Segment, cut_field, day, split_messages, timestamp
from .records import (
    AppointmentRecord,
    ImportStatus,
    Items,
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
_UNITS = {"": 1, "MIN": 1, "M": 1, "MINUTES": 1, "H": 60, "HR": 60, "HOUR": 60, "HOURS": 60}
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
    """One parsed message as a record; raises `RecordError` naming the field at fault."""
    msh = message.segments[0]
    kind, event = msh.value(9, 1), msh.value(9, 2)
    if kind == "ADT":
        if event not in ADT_EVENTS:
            raise RecordError(
                "MSH-9", f"ADT event {event or '(none)'} is not imported; these are: {', '.join(ADT_EVENTS)}"
            )
        return Record(where, patient=_patient(_segment(message, "PID"), phones))
    if kind != "SIU":
        raise RecordError("MSH-9", "not an SIU or ADT message")
    if event not in EVENTS:
        raise RecordError("MSH-9", f"event {event or '(none)'} is not imported; these are: {', '.join(EVENTS)}")
    sch, pid = _segment(message, "SCH"), _segment(message, "PID")
    patient = _patient(pid, phones)
    aip = next((s for s in message.all("AIP") if s.value(3, 2) or s.value(3, 3)), None)
    ail = message.first("AIL")
    ais = message.first("AIS")
    start_field, start = _start(sch, ais, ail, aip)
    appointment = AppointmentRecord(
        external_id=fields.required(sch.value(2) or sch.value(1), "SCH-2"),
        patient_external_id=patient.external_id,
        starts_at=start,
        clinic=fields.optional(ail.value(3, 1) or ail.value(3, 4), "AIL-3") if ail else None,
        provider=fields.optional(f"{aip.value(3, 3)} {aip.value(3, 2)}", "AIP-3") if aip else None,
        duration_minutes=_duration(sch, ais, ail, aip, start_field, start),
        kind=fields.kind_of([sch.value(8, 1), sch.value(8, 2), *([ais.value(3, 1), ais.value(3, 2)] if ais else [])]),
        status=EVENTS[event],
    )
    return Record(where, patient=patient, appointment=appointment)


def _segment(message: Message, name: str) -> Segment:
    segment = message.first(name)
    if segment is None:
        raise RecordError(name, "segment missing")
    return segment


def _start(sch: Segment, *others: Segment | None) -> tuple[str, datetime]:
    candidates = [("SCH-11.4", sch.value(11, 4))]
    for segment in others:
        if segment is not None:
            n = 4 if segment.name == "AIS" else 6
            candidates.append((f"{segment.name}-{n}", segment.value(n)))
    for field, value in candidates:
        if value:
            return field, timestamp(value, field)
    raise RecordError("SCH-11.4", "missing: no start time in SCH-11, AIS, AIL or AIP")


def _duration(
    sch: Segment, ais: Segment | None, ail: Segment | None, aip: Segment | None, start_field: str, start: datetime
) -> int | None:
    if sch.value(9):
        return _minutes(sch, 9, 10)
    end = sch.value(11, 5)
    if end and start_field == "SCH-11.4":
        minutes = (timestamp(end, "SCH-11.5") - start).total_seconds() / 60
        return fields.minutes(minutes, "SCH-11.5")
    for segment, n in ((ais, 7), (ail, 9), (aip, 9)):
        if segment is not None and segment.value(n):
            return _minutes(segment, n, n + 1)
    return None


def _minutes(segment: Segment, n: int, units_field: int) -> int:
    field = f"{segment.name}-{n}"
    units = segment.value(units_field).upper()
    if units not in _UNITS:
        raise RecordError(f"{segment.name}-{units_field}", "use minutes (MIN) or hours (H)")
    return fields.minutes(fields.number(segment.value(n), field) * _UNITS[units], field)


def _patient(pid: Segment, phones: fields.Phones) -> PatientRecord:
    return PatientRecord(
        external_id=fields.required(_patient_id(pid), "PID-3"),
        first_name=fields.required(pid.value(5, 2), "PID-5.2"),
        last_name=fields.required(pid.value(5, 1), "PID-5.1"),
        date_of_birth=fields.birth_date(day(pid.value(7), "PID-7"), "PID-7") if pid.value(7) else None,
        language=_language(pid),
        phones=fields.phones(_phones(pid, phones)),
    )


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


def _phones(pid: Segment, phones: fields.Phones) -> list[PhoneRecord]:
    found: list[PhoneRecord] = []
    for n, use in ((13, PhoneUse.HOME), (14, PhoneUse.WORK)):
        for rep in pid.repetitions(n):
            use_code, equipment = pid.part(rep, 2).upper(), pid.part(rep, 3).upper()
            number = _number(pid, rep)
            if use_code == "NET" or equipment in _NOT_PHONES or not number:
                continue
            kind = PhoneUse.MOBILE if equipment == "CP" else PhoneUse.WORK if use_code == "WPN" else use
            found.append(phones.read(number, kind, f"PID-{n}"))
    return found


def _number(pid: Segment, rep: str) -> str:
    """XTN: country (5), area (6) and local number (7) when given; else the unformatted (12) or legacy (1) one."""
    country, area, local = pid.part(rep, 5).lstrip("+"), pid.part(rep, 6), pid.part(rep, 7)
    if local:
        return f"+{country}{area}{local}" if country else f"{area}{local}"
    return pid.part(rep, 12) or pid.part(rep, 1)
