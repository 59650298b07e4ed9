"""HL7 v2 write-back: an event as the message the practice-management system's interface engine expects, over MLLP.

    appointment.confirmed             SIU^S14  SCH-25 Booked   (SCH-6 "confirmed": HL7 table 0278 has no
                                                                Confirmed; a booked slot the patient confirmed)
    appointment.reschedule-requested  SIU^S14  SCH-25 Pending  (SCH-6 "reschedule-requested": the slot waits for
                                                                the front desk to move it)
    appointment.cancelled             SIU^S15  SCH-25 Cancelled
    appointment.no-show               SIU^S26  SCH-25 Noshow   (not yet in 2.4's table: sent as a local code)
    patient.opted-out / opted-in      ADT^A31  PD1-11 publicity code, PD1-18 its date; nothing when the
                                               destination's opt_out_message is "none"
    anything else                     nothing ("not sent: ..."), which counts as delivered

A destination's `filler_status` setting ({"confirmed": "Confirmed", ...}) replaces SCH-25 codes for a PMS with
codes of its own. MSH-10 is the event's id (`evt_N`), the same on every retry, so the receiver can drop a repeat.
SCH-1 is our appointment id (namespace: the sending application), SCH-2 the PMS's own (`external_id`); PID-3 the
PMS's patient id (type MR, assigning authority from the `assigning_authority` setting), else ours (type PI).
Times are UTC with their offset (+0000): SCH-11, TQ1 (2.5 and later), AIL and AIP; the length in minutes.
SCH-16 and SCH-20, which the standard requires, name this application as the one that entered the change; AIL-3 is
the PMS's location code mapped to the clinic (else its name), AIP-3 the provider's code and name. The opt-out uses
the publicity code as immunization registries do for reminder/recall consent (CDC's implementation guide for table
0215): 01 no reminders, 02 any method, 03 no calls, and a local NOTEXT for a patient who takes calls but no texts.

Messages are built and validated (structure, required fields, data types) by hl7apy at its strict level, for the
versions in `VERSIONS` (TQ1 from 2.5 on). In HL7's own terms a system that does not own the schedule would send
SRM requests; interface engines take SIU notifications for write-back, and that is what PMS integrations send.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from hl7apy import load_reference
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message, is_base_datatype
from hl7apy.exceptions import ChildNotFound, HL7apyException, MaxChildLimitReached, ValidationError

from ..models import DestinationKind, EventType
from . import mllp_client
from .transports import (
    TEST_EVENT,
    AppointmentData,
    DeliveryFailed,
    DestinationConfig,
    PatientData,
    Payload,
    from_the_pms,
)

# hl7apy 1.3.5 writes the fields after a withdrawn one (SCH-11 in 2.7, EVN-1 in 2.8) one place too early, and has
# no ADT_A05 structure for 2.3.1: these are the versions it builds right.
VERSIONS = ("2.4", "2.5", "2.5.1", "2.6")
DEFAULT_VERSION = "2.5.1"
DEFAULT_ACK_TIMEOUT = 30.0
POINT_OF_CARE_LENGTH = 20  # PL-1 (IS)
APPLICATION = "clinic-reminders"  # SCH-16 and SCH-20: who entered the change
FILLER_STATUS = {  # HL7 table 0278, by our appointment status
    "confirmed": "Booked",
    "reschedule-requested": "Pending",
    "cancelled": "Cancelled",
    "no-show": "Noshow",
}
SIU_EVENTS = {
    EventType.APPOINTMENT_CONFIRMED: ("S14", "Appointment confirmed"),
    EventType.APPOINTMENT_RESCHEDULE_REQUESTED: ("S14", "Patient asked to reschedule"),
    EventType.APPOINTMENT_CANCELLED: ("S15", "Appointment cancelled"),
    EventType.APPOINTMENT_NO_SHOW: ("S26", "Patient did not show up"),
}
CONSENT_EVENTS = {EventType.PATIENT_OPTED_OUT: True, EventType.PATIENT_OPTED_IN: False}  # opted out afterwards
PUBLICITY = {  # PD1-11 by (texts refused, calls refused)
    (True, True): ("01", "No reminder/recall", "HL70215"),
    (False, False): ("02", "Reminder/recall - any method", "HL70215"),
    (False, True): ("03", "Reminder/recall - no calls", "HL70215"),
    (True, False): ("NOTEXT", "Reminder/recall - no text messages", "L"),
}


_NAMES = ("sending_application", "sending_facility", "receiving_application", "receiving_facility")


@dataclass(frozen=True)
class Hl7Settings:
    """A destination's settings of kind "hl7" (checked when saved; the defaults are those of the form). One that
    cannot be used fails the delivery for now, not for good: the office may correct it before the next try."""

    endpoint: mllp_client.Endpoint
    sending_application: str = ""
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    assigning_authority: str = ""  # PID-3.4, as the PMS's own feed names it
    opt_out_message: str = "ADT^A31"  # or "none"
    ack_timeout: float = DEFAULT_ACK_TIMEOUT
    version: str = DEFAULT_VERSION
    filler_status: Mapping[str, str] = field(default_factory=lambda: dict(FILLER_STATUS))

    @classmethod
    def of(cls, settings: Mapping[str, Any]) -> Hl7Settings:
        version = str(settings.get("version") or DEFAULT_VERSION)
        if version not in VERSIONS:
            raise DeliveryFailed(f"HL7 version {version[:10]} is not one of {', '.join(VERSIONS)}")
        filler_status = settings.get("filler_status") or {}
        if not isinstance(filler_status, Mapping):
            raise DeliveryFailed("the filler_status setting is not a table of status to code")
        try:
            endpoint = mllp_client.Endpoint(
                str(settings["host"]),
                int(settings["port"]),
                bool(settings.get("tls")),
                settings.get("ca_certificate") or None,
            )
            ack_timeout = float(settings.get("ack_timeout") or DEFAULT_ACK_TIMEOUT)
        except (KeyError, TypeError, ValueError):
            raise DeliveryFailed("the destination's host, port or ack_timeout is missing or not usable") from None
        return cls(
            endpoint,
            **{name: str(settings.get(name) or "") for name in (*_NAMES, "assigning_authority")},
            opt_out_message=str(settings.get("opt_out_message") or "ADT^A31"),
            ack_timeout=ack_timeout,
            version=version,
            filler_status={**FILLER_STATUS, **{str(k): str(v) for k, v in filler_status.items()}},
        )


class Hl7Transport:
    kind: ClassVar[str] = DestinationKind.HL7

    def send(self, destination: DestinationConfig, payload: Payload, *, timeout: float) -> str:
        event = payload["type"]
        if event == TEST_EVENT:
            return mllp_client.check(Hl7Settings.of(destination.settings).endpoint, timeout=timeout)
        if event not in SIU_EVENTS and event not in CONSENT_EVENTS:
            return f"not sent: no HL7 message for {event}"
        if from_the_pms(payload):
            return f"not sent: {event} came from the PMS's own import"
        settings = Hl7Settings.of(destination.settings)
        if event in CONSENT_EVENTS and settings.opt_out_message == "none":
            return f"not sent: this destination takes no opt-out messages ({event})"
        message = build(settings, payload, now=datetime.now(UTC))
        return mllp_client.send(
            settings.endpoint,
            message,
            control_id=payload["id"],
            ack_timeout=settings.ack_timeout,
            timeout=timeout,
            redact=_patient_values(payload["data"]["patient"]),
        )


def build(settings: Hl7Settings, payload: Payload, *, now: datetime) -> str:
    """The message for an event that has one (`SIU_EVENTS`, `CONSENT_EVENTS`), validated; segments end with CR."""
    event = EventType(payload["type"])
    patient = payload["data"]["patient"]
    if patient is None:
        raise DeliveryFailed("the event's patient no longer exists", permanent=True)
    try:
        if event in CONSENT_EVENTS:
            message = _adt_a31(settings, payload, patient, now)
        else:
            appointment = payload["data"]["appointment"]
            if appointment is None:
                raise DeliveryFailed("the event's appointment no longer exists", permanent=True)
            message = _siu(settings, payload, event, appointment, patient, now)
        message.validate()
    except (HL7apyException, ValueError) as exc:  # a value the version's data types refuse (hl7apy names the field)
        raise DeliveryFailed(f"the HL7 message could not be built: {_why(exc)}", permanent=True) from None
    return str(message.to_er7()) + "\r"


def _siu(
    settings: Hl7Settings,
    payload: Payload,
    event: EventType,
    appointment: AppointmentData,
    patient: PatientData,
    now: datetime,
) -> Any:
    trigger, reason = SIU_EVENTS[event]
    message = _message(settings, f"SIU_{trigger}", ("SIU", trigger, "SIU_S12"), payload["id"], now)
    start = _instant(appointment["starts_at"])
    end = start + timedelta(minutes=appointment["duration_minutes"])
    minutes = str(appointment["duration_minutes"])
    status = appointment["status"]
    sch = message.sch
    _put(sch, "1.1", str(appointment["id"]))
    _put(sch, "1.2", settings.sending_application)
    if appointment["external_id"]:
        _put(sch, "2.1", appointment["external_id"])
        _put(sch, "2.2", settings.receiving_application)
    _coded(sch, "6", status, reason, "L")
    _put(sch, "9", minutes)
    _put(sch, "10.1", "MIN")
    _put(sch, "11.4", _ts(start))
    _put(sch, "11.5", _ts(end))
    _put(sch, "16.1", APPLICATION)
    _put(sch, "20.1", APPLICATION)
    filler = settings.filler_status[status]
    _, table = load_reference("HL70278", "Table", settings.version)  # 2.4's has no Noshow yet
    _coded(sch, "25", filler, filler, "HL70278" if filler in table else "")
    if settings.version != "2.4":  # TQ1 came with 2.5
        tq1 = message.add_segment("TQ1")
        _put(tq1, "1", "1")
        _put(tq1, "6.1", minutes)
        _put(tq1, "6.2", "min")
        _put(tq1, "7", _ts(start))
        _put(tq1, "8", _ts(end))
    group = message.add_group(f"{message.name}_PATIENT")
    _pid(group.pid, settings, patient)
    resources = message.add_group(f"{message.name}_RESOURCES")
    _put(resources.rgs, "1", "1")
    ail = resources.add_group(f"{message.name}_LOCATION_RESOURCE").ail
    _put(ail, "1", "1")
    clinic = appointment["clinic"]
    # A point of care is at most 20 characters: a clinic without a PMS code is named in full in PL-9.
    _put(ail, "3.1", clinic["code"] or clinic["name"][:POINT_OF_CARE_LENGTH].rstrip())
    if not clinic["code"] and len(clinic["name"]) > POINT_OF_CARE_LENGTH:
        _put(ail, "3.9", clinic["name"])
    _coded(ail, "4", "C", "Clinic", "HL70305")
    _timing(ail, start, minutes)
    if appointment["provider"] is not None:
        aip = resources.add_group(f"{message.name}_PERSONNEL_RESOURCE").aip
        _put(aip, "1", "1")
        given, _, family = appointment["provider"]["name"].rpartition(" ")
        if appointment["provider"]["code"]:
            _put(aip, "3.1", appointment["provider"]["code"])
        _put(aip, "3.2", family)
        _put(aip, "3.3", given)
        _coded(aip, "4", "AT", "Attending", "")  # required in 2.4; the role of tables 0182 and 0443
        _timing(aip, start, minutes)
    return message


def _adt_a31(settings: Hl7Settings, payload: Payload, patient: PatientData, now: datetime) -> Any:
    message = _message(settings, "ADT_A05", ("ADT", "A31", "ADT_A05"), payload["id"], now)
    recorded = _ts(_instant(payload["created_at"]))
    _put(message.evn, "1", "A31")
    _put(message.evn, "2", recorded)
    _pid(message.pid, settings, patient)
    refused = {"sms": patient["sms_opted_out"], "voice": patient["voice_opted_out"]}
    channel = payload["data"]["details"].get("channel")
    if channel in refused:  # the event's own fact wins over the row as it is now
        refused[channel] = CONSENT_EVENTS[EventType(payload["type"])]
    _coded(message.pd1, "11", *PUBLICITY[(refused["sms"], refused["voice"])])
    _put(message.pd1, "18", recorded[:8])
    _put(message.pv1, "2", "N")  # patient class: not applicable (no visit)
    return message


def _message(settings: Hl7Settings, structure: str, kind: tuple[str, str, str], control_id: str, now: datetime) -> Any:
    message = Message(structure, version=settings.version, validation_level=VALIDATION_LEVEL.STRICT)
    msh = message.msh
    _put(msh, "3.1", settings.sending_application)
    _put(msh, "4.1", settings.sending_facility)
    _put(msh, "5.1", settings.receiving_application)
    _put(msh, "6.1", settings.receiving_facility)
    _put(msh, "7", _ts(now))
    for n, part in enumerate(kind, start=1):
        _put(msh, f"9.{n}", part)
    _put(msh, "10", control_id)
    _put(msh, "11.1", "P")
    _put(msh, "18", "UNICODE UTF-8")
    return message


def _pid(pid: Any, settings: Hl7Settings, patient: PatientData) -> None:
    _put(pid, "1", "1")
    if patient["external_id"]:
        _put(pid, "3.1", patient["external_id"])
        _put(pid, "3.4", settings.assigning_authority)
        _put(pid, "3.5", "MR")
    else:  # a patient the PMS does not know (added here): our id, so that a reply can name it
        _put(pid, "3.1", str(patient["id"]))
        _put(pid, "3.4", settings.sending_application or APPLICATION)
        _put(pid, "3.5", "PI")
    _put(pid, "5.1", patient["family_name"])
    _put(pid, "5.2", patient["given_name"])


def _timing(segment: Any, start: datetime, minutes: str) -> None:
    """AIL and AIP: start (6), duration (9) in minutes (10)."""
    _put(segment, "6", _ts(start))
    _put(segment, "9", minutes)
    _put(segment, "10.1", "MIN")


def _coded(segment: Any, number: str, code: str, text: str, system: str) -> None:
    """A coded element (CE, CWE): code, text, coding system."""
    _put(segment, f"{number}.1", code)
    _put(segment, f"{number}.2", text)
    _put(segment, f"{number}.3", system)


def _put(segment: Any, position: str, value: str) -> None:
    """SEG-field[.component[.subcomponent]] = value, through hl7apy, which escapes separators in it; an empty
    value is left out."""
    if not value:
        return
    number, *parts = position.split(".")
    element = getattr(segment, f"{segment.name}_{number}")
    for part in parts:
        element = getattr(element, f"{element.datatype}_{part}")
    while not is_base_datatype(element.datatype, element.version):  # a composite: its first component
        element = getattr(element, f"{element.datatype}_1")
    if element.classname == "Field":
        setattr(element, element.datatype, value)
    else:
        element.value = value


def _instant(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC)


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S+0000")


def _why(exc: Exception) -> str:
    """What hl7apy found, where its text names fields and types only (other texts quote the value refused)."""
    if isinstance(exc, ValidationError | ChildNotFound | MaxChildLimitReached):
        return str(exc)[:160]
    return f"a value that its HL7 data type refuses ({type(exc).__name__})"


def _patient_values(patient: PatientData | None) -> list[str]:
    if patient is None:
        return []
    return [patient["family_name"], patient["given_name"], patient["external_id"] or ""]
