"""Reading FHIR R4 Bundles: references by fullUrl or Patient/id, statuses, durations, and bad entries."""

from __future__ import annotations

import copy
import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from clinic_reminders.imports import fhir
from clinic_reminders.imports.records import (
    AppointmentRecord,
    ImportStatus,
    PhoneRecord,
    PhoneUse,
    Record,
    Rejection,
    UnusableInput,
)
from clinic_reminders.models import AppointmentKind

SAMPLE: dict[str, Any] = json.loads(
    (Path(__file__).parent.parent / "fixtures" / "imports" / "schedule.fhir.json").read_text()
)
MOUNTAIN = timezone(timedelta(hours=-6))
EASTERN = timezone(timedelta(hours=-4))


def read(document: Any) -> list[Record | Rejection]:
    return fhir.read(json.dumps(document).encode(), "US")


def bundle_with(entry: int, **changes: Any) -> dict[str, Any]:
    """The sample with entry N's (1-based) resource changed; a value of None removes the key."""
    document = copy.deepcopy(SAMPLE)
    resource = document["entry"][entry - 1]["resource"]
    for key, value in changes.items():
        if value is None:
            resource.pop(key, None)
        else:
            resource[key] = value
    return document


def rejections(document: Any) -> dict[str, tuple[str, str]]:
    return {i.where: (i.field, i.message) for i in read(document) if isinstance(i, Rejection)}


def test_it_reads_patients_first_then_their_appointments() -> None:
    items = read(SAMPLE)
    assert [i.where for i in items] == [
        "entry 1 (Patient)",
        "entry 2 (Patient)",
        "entry 5 (Appointment)",
        "entry 6 (Appointment)",
    ]
    ana, ben, first, second = items
    assert isinstance(ana, Record) and ana.patient is not None and ana.appointment is None
    assert (ana.patient.external_id, ana.patient.first_name, ana.patient.last_name) == ("P1", "Ana", "López")
    assert ana.patient.date_of_birth == date(1980, 1, 15)
    assert ana.patient.language == "es"  # es-MX
    assert ana.patient.phones == (PhoneRecord("+13035550142", PhoneUse.MOBILE),)  # the email is not a phone
    assert isinstance(ben, Record) and ben.patient is not None
    assert [p.use for p in ben.patient.phones] == [PhoneUse.MOBILE, PhoneUse.HOME]
    assert isinstance(first, Record) and first.patient is None
    assert first.appointment == AppointmentRecord(
        external_id="A1",
        patient_external_id="P1",  # by the patient's urn:uuid fullUrl
        starts_at=datetime(2040, 6, 12, 9, 0, tzinfo=MOUNTAIN),
        clinic="Riverside",  # the Location in the bundle
        provider="Maria Chen",  # the Practitioner in the bundle
        duration_minutes=30,
        kind=None,
        status=ImportStatus.SCHEDULED,
    )
    assert isinstance(second, Record) and second.appointment is not None
    assert second.appointment.patient_external_id == "P2"  # Patient/P2, whose fullUrl is absolute
    assert second.appointment.clinic == "Downtown Clinic"  # the Location's display
    assert second.appointment.duration_minutes == 45  # from the end
    assert second.appointment.kind == AppointmentKind.TELEHEALTH


def test_it_lets_a_single_appointment_name_a_patient_imported_before() -> None:
    appointment = copy.deepcopy(SAMPLE["entry"][5]["resource"])
    [item] = read(appointment)
    assert isinstance(item, Record) and item.appointment is not None
    assert (item.where, item.appointment.patient_external_id) == ("entry 1 (Appointment)", "P2")


def test_it_falls_back_to_the_first_identifier_for_ids() -> None:
    document = bundle_with(1, id=None, identifier=[{"system": "urn:mrn", "value": "MRN-7"}])
    assert [i.patient.external_id for i in read(document) if isinstance(i, Record) and i.patient] == ["MRN-7", "P2"]
    appointment = next(i for i in read(document) if isinstance(i, Record) and i.appointment)
    assert appointment.appointment is not None and appointment.appointment.patient_external_id == "MRN-7"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("booked", ImportStatus.SCHEDULED),
        ("pending", ImportStatus.SCHEDULED),
        ("cancelled", ImportStatus.CANCELLED),
        ("entered-in-error", ImportStatus.CANCELLED),
        ("noshow", ImportStatus.NO_SHOW),
    ],
)
def test_it_maps_the_fhir_status(status: str, expected: ImportStatus) -> None:
    [*_, item, _other] = read(bundle_with(5, status=status))
    assert isinstance(item, Record) and item.appointment is not None and item.appointment.status == expected


@pytest.mark.parametrize(
    ("entry", "changes", "where", "field"),
    [
        (5, {"status": "fulfilled"}, "entry 5 (Appointment)", "Appointment.status"),
        (5, {"start": None}, "entry 5 (Appointment)", "Appointment.start"),
        (5, {"start": "2040-06-12"}, "entry 5 (Appointment)", "Appointment.start"),
        (5, {"minutesDuration": 0}, "entry 5 (Appointment)", "Appointment.minutesDuration"),
        (6, {"end": "2040-06-13T14:00:00-04:00"}, "entry 6 (Appointment)", "Appointment.end"),
        (6, {"minutesDuration": 30}, "entry 6 (Appointment)", "Appointment.end"),
        (5, {"participant": []}, "entry 5 (Appointment)", "Appointment.participant"),
        (5, {"participant": "everyone"}, "entry 5 (Appointment)", "Appointment.participant"),
        (2, {"birthDate": "1975"}, "entry 2 (Patient)", "Patient.birthDate"),
        (2, {"name": [{"given": ["Ben"]}]}, "entry 2 (Patient)", "Patient.name.family"),
        (2, {"telecom": [{"system": "phone", "value": "555-0199"}]}, "entry 2 (Patient)", "Patient.telecom"),
        (
            2,
            {"communication": [{"language": {"text": "Klingon"}}]},
            "entry 2 (Patient)",
            "Patient.communication.language",
        ),
    ],
)
def test_it_rejects_a_bad_entry_naming_the_entry_and_field(
    entry: int, changes: dict[str, Any], where: str, field: str
) -> None:
    found = rejections(bundle_with(entry, **changes))
    assert found[where][0] == field
    assert sum(isinstance(i, Record) for i in read(bundle_with(entry, **changes))) >= 2  # the others are read


def test_it_rejects_the_appointment_of_a_rejected_patient_too() -> None:
    found = rejections(bundle_with(2, birthDate="not a date"))
    assert set(found) == {"entry 2 (Patient)", "entry 6 (Appointment)"}
    assert found["entry 6 (Appointment)"] == ("Appointment.participant", "its Patient (entry 2 (Patient)) was rejected")


def test_it_reports_an_entry_without_a_resource_and_takes_an_empty_bundle() -> None:
    document = copy.deepcopy(SAMPLE)
    document["entry"].insert(0, {"fullUrl": "urn:uuid:lost"})
    assert rejections(document) == {"entry 1": ("resource", "missing, or without resourceType")}
    assert read({"resourceType": "Bundle", "type": "searchset", "entry": []}) == []


def test_it_rejects_a_patient_reference_that_does_not_resolve() -> None:
    participant = [{"actor": {"reference": "urn:uuid:00000000-0000-0000-0000-000000000000", "type": "Patient"}}]
    assert rejections(bundle_with(5, participant=participant))["entry 5 (Appointment)"][0] == "Appointment.participant"


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"not json", "not JSON"),
        (b"[]", "not a FHIR resource"),
        (b'{"resourceType": "Observation"}', "not a FHIR Bundle"),
        (b'{"resourceType": "Bundle", "entry": {}}', "not a list"),
        (b'{"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Location"}}]}', "no Appointment"),
    ],
)
def test_it_refuses_input_that_is_not_a_fhir_schedule(data: bytes, says: str) -> None:
    with pytest.raises(UnusableInput, match=says):
        fhir.read(data, "US")


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 64 levels"),  # past the JSON decoder's own limit
        (b'{"resourceType": "Bundle", "x": ' + b"[" * 65 + b"]" * 65 + b"}", "nested deeper than 64 levels"),
        (b'{"resourceType": "Patient", "id": "P1", "x": ' + b"9" * 5000 + b"}", "a number longer than 32 characters"),
        (b'{"resourceType": "Patient", "x": 0.' + b"1" * 40 + b"}", "a number longer than 32 characters"),
        (b'{"resourceType": "Patient", "x": NaN}', "NaN is not a JSON number"),
        (b" " * (fhir.MAX_BYTES + 1), "larger than 128 MiB"),
    ],
    ids=["deep", "deep-inside", "5000-digits", "long-decimal", "nan", "large"],
)
def test_it_refuses_a_file_past_the_parsing_bounds(data: bytes, says: str) -> None:
    with pytest.raises(UnusableInput, match=says):
        fhir.read(data, "US")


def test_it_reads_what_nests_as_deep_as_the_bound() -> None:
    inside = b"[" * 62 + b"]" * 62  # 64 levels with the Patient and "x"
    [item] = fhir.read(
        b'{"resourceType": "Patient", "id": "P1", "name": [{"family": "Lopez", "given": ["Ana"]}], "x": '
        + inside
        + b"}",
        "US",
    )
    assert isinstance(item, Record)


def test_it_refuses_a_control_character_in_a_name_naming_the_field() -> None:
    patient = {"resourceType": "Patient", "id": "P1", "name": [{"family": "Lopez", "given": ["An\x00a"]}]}
    [item] = fhir.read(json.dumps(patient).encode(), "US")  # NUL as JSON writes it: \u0000
    assert isinstance(item, Rejection) and item.field == "Patient.name.given"
