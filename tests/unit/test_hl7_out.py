"""HL7 v2 write-back messages: which event becomes which message, their fields as a receiver reads them (hl7apy at
its strict level, and our own inbound importer), escapes, the opt-out's publicity code, and what is not sent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hl7apy import load_reference
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from clinic_reminders.imports import fields, hl7
from clinic_reminders.imports.hl7_messages import Message
from clinic_reminders.imports.records import ImportStatus
from clinic_reminders.models import EventType
from clinic_reminders.writeback.hl7_out import (
    FILLER_STATUS,
    VERSIONS,
    Hl7Settings,
    Hl7Transport,
    build,
)
from clinic_reminders.writeback.registry import transport_for
from clinic_reminders.writeback.transports import DeliveryFailed, DestinationConfig, Payload

SETTINGS: dict[str, Any] = {
    "host": "127.0.0.1",
    "port": 9,  # nothing listens: a test that reaches the network fails
    "sending_application": "REMINDERS",
    "sending_facility": "OFFICE",
    "receiving_application": "PMS",
    "receiving_facility": "RIVERSIDE",
    "assigning_authority": "PMS",
}
NOW = datetime(2040, 6, 1, 12, 0, 5, tzinfo=UTC)


def payload(
    type: str,
    *,
    external_id: str | None = "A1",
    patient_external_id: str | None = "P1",
    family: str = "López",
    given: str = "Ana",
    provider: str | None = "Maria Chen",
    details: dict[str, Any] | None = None,
    sms_opted_out: bool = False,
    voice_opted_out: bool = False,
    appointment: bool = True,
) -> Payload:
    """A payload v1 as `writeback.payload.build` makes it: appointment 42 (the PMS's A1) at Riverside on
    2040-06-12 at 15:00 UTC for 30 minutes, patient 9 (the PMS's P1)."""
    status = type.removeprefix("appointment.") if type.startswith("appointment.") else "scheduled"
    return {
        "id": "evt_41",
        "type": type,
        "version": 1,
        "created_at": "2040-06-01T11:59:00Z",
        "office_id": 1,
        "data": {
            "appointment": {
                "id": 42,
                "external_id": external_id,
                "status": status,
                "starts_at": "2040-06-12T15:00:00Z",
                "duration_minutes": 30,
                "kind": "in-person",
                "clinic": {"id": 1, "name": "Riverside", "code": None},
                "provider": {"id": 3, "name": provider, "code": None} if provider else None,
            }
            if appointment
            else None,
            "patient": {
                "id": 9,
                "external_id": patient_external_id,
                "family_name": family,
                "given_name": given,
                "sms_opted_out": sms_opted_out,
                "voice_opted_out": voice_opted_out,
            },
            "reminder_id": None,
            "message_id": None,
            "details": details or {},
        },
    }


def built(message_payload: Payload, **settings: Any) -> str:
    return build(Hl7Settings.of({**SETTINGS, **settings}), message_payload, now=NOW)


def strict(text: str) -> Any:
    """The message as a receiver using hl7apy reads it, validated at the strict level."""
    return parse_message(text, validation_level=VALIDATION_LEVEL.STRICT, force_validation=True)


def er7(element: Any) -> str:
    return str(element.to_er7())


MAPPED = {
    EventType.APPOINTMENT_CONFIRMED: ("SIU^S14^SIU_S12", "Booked^Booked^HL70278"),
    EventType.APPOINTMENT_RESCHEDULE_REQUESTED: ("SIU^S14^SIU_S12", "Pending^Pending^HL70278"),
    EventType.APPOINTMENT_CANCELLED: ("SIU^S15^SIU_S12", "Cancelled^Cancelled^HL70278"),
    EventType.APPOINTMENT_NO_SHOW: ("SIU^S26^SIU_S12", "Noshow^Noshow^HL70278"),
    EventType.PATIENT_OPTED_OUT: ("ADT^A31^ADT_A05", None),
    EventType.PATIENT_OPTED_IN: ("ADT^A31^ADT_A05", None),
}


@pytest.mark.parametrize("event", list(EventType))
def test_it_maps_each_event_type_to_its_message_or_to_none(event: EventType) -> None:
    if event not in MAPPED:
        destination = DestinationConfig(id=1, office_id=1, kind="hl7", name="PMS", settings=SETTINGS)
        result = Hl7Transport().send(destination, payload(event), timeout=1)
        assert result == f"not sent: no HL7 message for {event}"
        return
    message_type, filler_status = MAPPED[event]
    message = strict(built(payload(event, details={"channel": "sms"})))
    assert er7(message.msh.msh_9) == message_type
    assert er7(message.msh.msh_10) == "evt_41"
    if filler_status is not None:
        assert er7(message.sch.sch_25) == filler_status


def test_it_builds_an_siu_s14_for_a_confirmed_appointment() -> None:
    text = built(payload(EventType.APPOINTMENT_CONFIRMED))
    assert text.endswith("\r") and "\n" not in text
    message = strict(text)
    msh, sch = message.msh, message.sch
    assert [er7(f) for f in (msh.msh_3, msh.msh_4, msh.msh_5, msh.msh_6)] == ["REMINDERS", "OFFICE", "PMS", "RIVERSIDE"]
    assert (er7(msh.msh_7), er7(msh.msh_11), er7(msh.msh_12), er7(msh.msh_18)) == (
        "20400601120005+0000",
        "P",
        "2.5.1",
        "UNICODE UTF-8",
    )
    assert (er7(sch.sch_1), er7(sch.sch_2)) == ("42^REMINDERS", "A1^PMS")
    assert er7(sch.sch_6) == "confirmed^Appointment confirmed^L"
    assert (er7(sch.sch_9), er7(sch.sch_10)) == ("30", "MIN")
    assert er7(sch.sch_11) == "^^^20400612150000+0000^20400612153000+0000"
    assert (er7(sch.sch_16), er7(sch.sch_20)) == ("clinic-reminders", "clinic-reminders")
    assert er7(message.tq1) == "TQ1|1|||||30^min|20400612150000+0000|20400612153000+0000"
    pid = message.siu_s12_patient.pid
    assert (er7(pid.pid_3), er7(pid.pid_5)) == ("P1^^^PMS^MR", "López^Ana")
    resources = message.siu_s12_resources
    assert er7(resources.rgs) == "RGS|1"
    assert er7(resources.siu_s12_location_resource.ail) == (
        "AIL|1||Riverside|C^Clinic^HL70305||20400612150000+0000|||30|MIN"
    )
    assert er7(resources.siu_s12_personnel_resource.aip) == (
        "AIP|1||^Chen^Maria|AT^Attending||20400612150000+0000|||30|MIN"
    )


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("event", "status"),
    [
        (EventType.APPOINTMENT_CONFIRMED, ImportStatus.SCHEDULED),
        (EventType.APPOINTMENT_RESCHEDULE_REQUESTED, ImportStatus.SCHEDULED),
        (EventType.APPOINTMENT_CANCELLED, ImportStatus.CANCELLED),
        (EventType.APPOINTMENT_NO_SHOW, ImportStatus.NO_SHOW),
    ],
)
def test_it_reads_back_through_the_inbound_importer(version: str, event: EventType, status: ImportStatus) -> None:
    """Our own SIU reader finds every value where the version puts it (hl7apy misplaces fields in 2.7 and 2.8)."""
    text = built(payload(event, family="O'Brien|^~\\&", given="Zoë"), version=version)
    strict(text)
    record = hl7.record(Message(text), "message 1", fields.Phones("US"))
    visit, patient = record.appointment, record.patient
    assert visit is not None and patient is not None
    assert (visit.external_id, visit.status, visit.duration_minutes) == ("A1", status, 30)
    assert visit.starts_at == datetime(2040, 6, 12, 15, 0, tzinfo=UTC)
    assert visit.location is not None and visit.location.value == "Riverside"
    assert visit.provider == "Maria Chen"
    assert (patient.external_id, patient.last_name, patient.first_name) == ("P1", "O'Brien|^~\\&", "Zoë")
    assert Message(text).segments[0].value(12) == version
    assert [segment.name for segment in Message(text).segments if segment.name == "TQ1"] == (
        [] if version == "2.4" else ["TQ1"]
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_the_default_filler_statuses_are_hl7_table_0278_codes(version: str) -> None:
    _, codes = load_reference("HL70278", "Table", version)
    assert set(FILLER_STATUS.values()) - set(codes) == ({"Noshow"} if version == "2.4" else set())
    no_show = strict(built(payload(EventType.APPOINTMENT_NO_SHOW), version=version))
    assert er7(no_show.sch.sch_25) == ("Noshow^Noshow" if version == "2.4" else "Noshow^Noshow^HL70278")


def test_a_destination_can_use_filler_status_codes_of_its_own() -> None:
    message = strict(built(payload(EventType.APPOINTMENT_CONFIRMED), filler_status={"confirmed": "CONF"}))
    assert er7(message.sch.sch_25) == "CONF^CONF"
    cancelled = strict(built(payload(EventType.APPOINTMENT_CANCELLED), filler_status={"confirmed": "CONF"}))
    assert er7(cancelled.sch.sch_25) == "Cancelled^Cancelled^HL70278"


def test_it_names_the_clinic_and_provider_by_the_pms_codes_mapped_to_them() -> None:
    event = payload(EventType.APPOINTMENT_CONFIRMED)
    visit = event["data"]["appointment"]
    assert visit is not None and visit["provider"] is not None
    visit["clinic"]["code"], visit["provider"]["code"] = "RIV", "D123"
    text = built(event)
    strict(text)
    ail = next(line for line in text.split("\r") if line.startswith("AIL|"))
    aip = next(line for line in text.split("\r") if line.startswith("AIP|"))
    assert ail.split("|")[3].split("^")[0] == "RIV"
    assert aip.split("|")[3].split("^")[:3] == ["D123", "Chen", "Maria"]


def test_a_clinic_name_longer_than_a_point_of_care_is_cut_there_and_given_in_full_beside() -> None:
    event = payload(EventType.APPOINTMENT_CONFIRMED)
    assert event["data"]["appointment"] is not None
    event["data"]["appointment"]["clinic"]["name"] = "Riverside Family Medicine of Denver"
    text = built(event)
    strict(text)
    ail = next(line for line in text.split("\r") if line.startswith("AIL|")).split("|")[3].split("^")
    assert (ail[0], ail[8]) == ("Riverside Family Med", "Riverside Family Medicine of Denver")


def test_a_change_the_pms_import_made_is_not_sent_back() -> None:
    event = payload(EventType.APPOINTMENT_CANCELLED, details={"by": "import:hl7", "previous": "scheduled"})
    destination = DestinationConfig(id=1, office_id=1, kind="hl7", name="PMS", settings=SETTINGS)
    result = Hl7Transport().send(destination, event, timeout=1)  # no listener: sending would fail
    assert result == "not sent: appointment.cancelled came from the PMS's own import"


def test_without_the_pms_ids_it_names_ours() -> None:
    event = payload(EventType.APPOINTMENT_CANCELLED, external_id=None, patient_external_id=None, provider=None)
    message = strict(built(event))
    assert (er7(message.sch.sch_1), er7(message.sch.sch_2)) == ("42^REMINDERS", "")
    assert er7(message.siu_s12_patient.pid.pid_3) == "9^^^REMINDERS^PI"
    assert not message.siu_s12_resources.children.get("SIU_S12_PERSONNEL_RESOURCE")


@pytest.mark.parametrize(
    ("event", "channel", "sms_now", "voice_now", "publicity"),
    [
        (EventType.PATIENT_OPTED_OUT, "sms", False, False, "NOTEXT^Reminder/recall - no text messages^L"),
        (EventType.PATIENT_OPTED_OUT, "sms", False, True, "01^No reminder/recall^HL70215"),
        (EventType.PATIENT_OPTED_OUT, "voice", False, False, "03^Reminder/recall - no calls^HL70215"),
        # the event's channel wins over the row as it is now (read when the delivery is retried, days later)
        (EventType.PATIENT_OPTED_IN, "sms", True, False, "02^Reminder/recall - any method^HL70215"),
        (EventType.PATIENT_OPTED_IN, "voice", True, True, "NOTEXT^Reminder/recall - no text messages^L"),
    ],
)
def test_an_opt_out_or_in_is_an_adt_a31_with_the_publicity_code(
    event: EventType, channel: str, sms_now: bool, voice_now: bool, publicity: str
) -> None:
    event_payload = payload(event, details={"channel": channel}, sms_opted_out=sms_now, voice_opted_out=voice_now)
    message = strict(built(event_payload))
    assert [segment.name for segment in message.children] == ["MSH", "EVN", "PID", "PD1", "PV1"]
    assert er7(message.evn) == "EVN|A31|20400601115900+0000"
    assert er7(message.pid.pid_3) == "P1^^^PMS^MR"
    assert (er7(message.pd1.pd1_11), er7(message.pd1.pd1_18)) == (publicity, "20400601")
    assert er7(message.pv1.pv1_2) == "N"
    record = hl7.record(Message(built(event_payload)), "message 1", fields.Phones("US"))
    assert record.patient is not None and record.patient.external_id == "P1" and record.appointment is None


def test_a_destination_that_takes_no_opt_outs_gets_none() -> None:
    destination = DestinationConfig(
        id=1, office_id=1, kind="hl7", name="PMS", settings={**SETTINGS, "opt_out_message": "none"}
    )
    result = Hl7Transport().send(destination, payload(EventType.PATIENT_OPTED_OUT), timeout=1)
    assert result == "not sent: this destination takes no opt-out messages (patient.opted-out)"


def test_an_event_whose_rows_are_gone_fails_for_good() -> None:
    with pytest.raises(DeliveryFailed) as gone:
        built(payload(EventType.APPOINTMENT_CONFIRMED, appointment=False))
    assert gone.value.permanent and gone.value.reason == "the event's appointment no longer exists"


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        ({"version": "2.9"}, "HL7 version 2.9 is not one of 2.4, 2.5, 2.5.1, 2.6"),
        ({"port": "mllp"}, "the destination's host, port or ack_timeout is missing or not usable"),
        ({"filler_status": "Booked"}, "the filler_status setting is not a table of status to code"),
    ],
)
def test_unusable_settings_fail_until_corrected(settings: dict[str, Any], reason: str) -> None:
    with pytest.raises(DeliveryFailed) as failed:
        Hl7Settings.of({**SETTINGS, **settings})
    assert failed.value.reason == reason and not failed.value.permanent


def test_the_registry_finds_the_transport_for_hl7_destinations() -> None:
    transport = transport_for("hl7")
    assert isinstance(transport, Hl7Transport) and transport.kind == "hl7"
