"""FHIR R4 write-back: a patient's answer goes back to the FHIR server the appointment came from, as the
Appointment's status and an AppointmentResponse for the patient's participation.

    event                             Appointment.status   patient's participant   AppointmentResponse
    appointment.confirmed             booked               accepted                accepted
    appointment.cancelled             cancelled            declined (1)            declined (1)
    appointment.no-show               noshow               (kept)                  (none)
    appointment.reschedule-requested  (kept)               needs-action            declined, "asked for another time"
    writeback.test                    an Appointment search with the destination's credentials; nothing changes
    anything else                     nothing ("not sent: ..."), which counts as delivered

(1) when the patient cancelled (by text, call or link); a cancellation by the office changes the status only.
A reschedule request keeps the appointment booked, since the visit still holds its slot until the front desk moves
it: the patient declined this time (the AppointmentResponse) and the appointment waits on them (needs-action).

Only appointments imported from FHIR are written back: their external id is the FHIR Appointment id. The
Appointment is read (GET, keeping its ETag), changed and validated with `fhir.resources` (R4B, whose Appointment and
AppointmentResponse are R4's), and PUT back as the server gave it but for those two fields, with If-Match: a 412
(someone changed it meanwhile) reads it again and tries once more. An appointment the server already has as the
event tells is not PUT again, and one it has moved on from (arrived, fulfilled, or cancelled when the patient
confirms) is left alone: the practice-management system's word wins over a late answer. The AppointmentResponse
is a conditional create (If-None-Exist on its identifier, the event's id), so a retry never makes a second one.
Changes that an import made (`import:...`) are not written back to where they came from.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlencode

import httpx
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.appointmentresponse import AppointmentResponse
from pydantic import ValidationError

from ..models import DestinationKind, EventType
from .fhir_http import FHIR_ID, FhirServer, is_fhir, reference_type, refused
from .transports import TEST_EVENT, DeliveryFailed, DestinationConfig, Payload, from_the_pms

EVENT_SYSTEM = "urn:clinic-reminders:event"  # AppointmentResponse.identifier.system; the value is the event's id
_CODE = re.compile(r"^[a-z-]{1,30}$")
OPEN = frozenset({"proposed", "pending", "booked", "waitlist"})  # the server's statuses an answer may change
_HOW = {"patient:sms": "by text message", "patient:voice": "by phone", "patient:link": "on the appointment's page"}


@dataclass(frozen=True)
class Change:
    status: str | None  # the Appointment's new status; None keeps it
    participation: str | None  # the patient's participant status and AppointmentResponse; None: neither
    response: str | None  # AppointmentResponse.participantStatus
    words: str  # the AppointmentResponse's comment begins so
    patients_only: bool = False  # the participation only when the patient made the change

    @property
    def applies_from(self) -> frozenset[str]:
        return OPEN | {self.status} if self.status else OPEN


CHANGES = {
    EventType.APPOINTMENT_CONFIRMED: Change("booked", "accepted", "accepted", "Confirmed"),
    EventType.APPOINTMENT_CANCELLED: Change("cancelled", "declined", "declined", "Cancelled", patients_only=True),
    EventType.APPOINTMENT_NO_SHOW: Change("noshow", None, None, ""),
    EventType.APPOINTMENT_RESCHEDULE_REQUESTED: Change(None, "needs-action", "declined", "Asked for another time"),
}


class FhirTransport:
    kind: ClassVar[str] = DestinationKind.FHIR

    def send(self, destination: DestinationConfig, payload: Payload, *, timeout: float) -> str:
        event = payload["type"]
        if event == TEST_EVENT:
            with FhirServer(destination, timeout=timeout) as server:
                return _check(server)
        change = CHANGES.get(EventType(event)) if event in CHANGES else None
        if change is None:
            return f"not sent: no FHIR update for {event}"
        if from_the_pms(payload):
            return "not sent: the change came from the practice-management system's own import"
        by = str(payload["data"]["details"].get("by") or "")
        appointment = payload["data"]["appointment"]
        if appointment is None:
            return "not sent: the appointment no longer exists"
        fhir_id = appointment["external_id"] or ""
        if not FHIR_ID.fullmatch(fhir_id):
            return "not sent: the appointment did not come from a FHIR server (no FHIR id)"
        participation = change.participation if by.startswith("patient:") or not change.patients_only else None
        with FhirServer(destination, timeout=timeout) as server:
            updated = _update(server, fhir_id, change, participation)
            if isinstance(updated, str):
                return updated
            done, resource = updated
            if participation is None or change.response is None:
                return done
            patient = payload["data"]["patient"]
            known_as = patient["external_id"] if patient else None
            actor = _patient_reference(resource) or (f"Patient/{known_as}" if known_as else None)
            comment = f"{change.words} {_HOW.get(by, 'as recorded by the office')} (clinic-reminders)"
            answered = _respond(server, payload["id"], fhir_id, actor, change.response, comment)
            return f"{done}; {answered}"


def _check(server: FhirServer) -> str:
    response = server.request("GET", "Appointment?_count=1", what="GET Appointment")
    if response.status_code != 200 or not is_fhir(response):
        raise refused(response, "GET Appointment")
    return "connected: an Appointment search answered HTTP 200; nothing was changed"


def _update(server: FhirServer, fhir_id: str, change: Change, participation: str | None) -> tuple[str, Any] | str:
    """(what was done, the Appointment as the server has it now), or why nothing was sent."""
    for attempt in (1, 2):
        read = _read(server, fhir_id)
        if isinstance(read, str):
            return read
        current, etag = read
        status = str(current.get("status") or "")
        if status not in change.applies_from:
            shown = status if _CODE.fullmatch(status) else "another status"
            return f"not sent: the FHIR server has this Appointment as {shown}"
        wanted = changed(current, change.status, participation)
        if wanted == current:
            return "Appointment already up to date", current
        headers = {"Prefer": "return=minimal", **({"If-Match": etag} if etag else {})}
        response = server.request("PUT", f"Appointment/{fhir_id}", what="PUT Appointment", json=wanted, headers=headers)
        if response.status_code == 412 and attempt == 1:
            continue  # changed meanwhile: read it again
        if response.status_code == 412:
            raise DeliveryFailed("PUT Appointment: HTTP 412 twice (it keeps changing on the FHIR server)")
        if response.status_code not in (200, 201):
            raise refused(response, "PUT Appointment")
        return f"Appointment {_told(current, wanted)} (HTTP {response.status_code})", wanted
    raise AssertionError("unreachable")


def _read(server: FhirServer, fhir_id: str) -> tuple[dict[str, Any], str | None] | str:
    response = server.request("GET", f"Appointment/{fhir_id}", what="GET Appointment")
    if response.status_code in (404, 410) and is_fhir(response):
        return f"not sent: the FHIR server has no such Appointment (HTTP {response.status_code})"
    if response.status_code != 200:
        raise refused(response, "GET Appointment")
    resource = _resource(response)
    if resource.get("resourceType") != "Appointment" or resource.get("id") != fhir_id:
        raise DeliveryFailed("GET Appointment: HTTP 200 with another resource than the Appointment asked for")
    etag = response.headers.get("ETag")
    version = (resource.get("meta") or {}).get("versionId") if isinstance(resource.get("meta"), dict) else None
    return resource, etag or (f'W/"{version}"' if isinstance(version, str) and version else None)


def _told(current: dict[str, Any], wanted: dict[str, Any]) -> str:
    """What the PUT changed, in codes: "booked -> cancelled, patient declined"."""
    parts = [f"{current.get('status')} -> {wanted['status']}"] if current.get("status") != wanted["status"] else []
    index = _patient_participant(wanted)
    if index is not None and current["participant"][index].get("status") != wanted["participant"][index]["status"]:
        parts.append(f"patient {wanted['participant'][index]['status']}")
    return ", ".join(parts)


def _resource(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise DeliveryFailed(f"{response.request.method} answered HTTP {response.status_code} without FHIR JSON")
    return body


def changed(current: dict[str, Any], status: str | None, participation: str | None) -> dict[str, Any]:
    """The Appointment with its new status and the patient's participant status, validated as R4."""
    wanted = copy.deepcopy(current)
    if status is not None:
        wanted["status"] = status
    index = _patient_participant(wanted)
    if participation is not None and index is not None:
        wanted["participant"][index]["status"] = participation
    try:
        Appointment.model_validate(wanted)
    except ValidationError as exc:
        raise DeliveryFailed(f"the FHIR server's Appointment is not valid R4 ({_where(exc)})") from None
    return wanted


def _where(exc: ValidationError) -> str:
    """Where validation failed, as field paths and error types (never the values, which may be patient data)."""
    return ", ".join(".".join(str(p) for p in e["loc"]) + f": {e['type']}" for e in exc.errors()[:3])


def _patient_participant(resource: dict[str, Any]) -> int | None:
    participants = resource.get("participant")
    if not isinstance(participants, list):
        return None
    for index, participant in enumerate(participants):
        actor = participant.get("actor") if isinstance(participant, dict) else None
        if isinstance(actor, dict) and (actor.get("type") == "Patient" or _type_of(resource, actor) == "Patient"):
            return index
    return None


def _type_of(resource: dict[str, Any], actor: dict[str, Any]) -> str:
    reference = str(actor.get("reference") or "")
    if reference.startswith("#"):
        contained = resource.get("contained") or []
        found = [c for c in contained if isinstance(c, dict) and c.get("id") == reference[1:]]
        return str(found[0].get("resourceType", "")) if found else ""
    return reference_type(reference)


def _patient_reference(resource: dict[str, Any]) -> str | None:
    """The patient's reference as the server's Appointment has it (not a contained one, which only it can see)."""
    index = _patient_participant(resource)
    if index is None:
        return None
    reference = str(resource["participant"][index]["actor"].get("reference") or "")
    return reference if reference and not reference.startswith("#") else None


def _respond(server: FhirServer, event_id: str, fhir_id: str, actor: str | None, status: str, comment: str) -> str:
    answer = AppointmentResponse.model_validate(
        {
            "resourceType": "AppointmentResponse",
            "identifier": [{"system": EVENT_SYSTEM, "value": event_id}],
            "appointment": {"reference": f"Appointment/{fhir_id}"},
            **({"actor": {"reference": actor}} if actor else {}),
            "participantStatus": status,
            "comment": comment,
        }
    )
    body = answer.model_dump(mode="json", exclude_none=True)
    headers = {"If-None-Exist": urlencode({"identifier": f"{EVENT_SYSTEM}|{event_id}"}), "Prefer": "return=minimal"}
    response = server.request(
        "POST", "AppointmentResponse", what="POST AppointmentResponse", json=body, headers=headers
    )
    if response.status_code == 201:
        return f"AppointmentResponse {status} (HTTP 201)"
    if response.status_code in (200, 412):  # conditional create: one (200) or several (412) exist already
        return f"AppointmentResponse already there (HTTP {response.status_code})"
    raise refused(response, "POST AppointmentResponse")
