"""The other direction of a FHIR destination: the FHIR server's Subscription (R4, channel type rest-hook) tells of
Appointments as they change, and they are imported through the same reader and upsert path as a file
(`reminders import fhir`), with the same rules, audit trail (`import:fhir`) and events.

The office creates on its FHIR server a Subscription with criteria such as `Appointment?status=booked,cancelled`,
`channel.endpoint` = `<public URL>/fhir/subscription/<destination id>`, `channel.payload` = `application/fhir+json`
and `channel.header` = `["Authorization: Bearer <token>"]`, the token from `new_token` (shown once; only its
SHA-256 is kept, in the destination's settings). What arrives there:

- the changed resource, POSTed to the endpoint or PUT (or POSTed) to `<endpoint>/Appointment/<id>` as HAPI does;
- a Bundle (a history Bundle of the Subscriptions backport, a transaction or a collection) of Appointments and the
  Patients, Locations and Practitioners they name;
- an empty body: a ping, or on `<endpoint>/Appointment/<id>` the news that it changed (it is read from the server).

A participant that the notification names but does not include is read from the destination's `base_url` with its
credentials: always a Patient (its name and phones may have changed), a Location or Practitioner when the
reference has no display name. A Patient contained in the Appointment is imported under its identifier (a
contained id means nothing outside its resource). The answer is an OperationOutcome: 200 once imported (or
nothing to import), 422 when every record in it was rejected, 400 for a body that is not FHIR R4 JSON. Neither the
answer nor the log holds patient data: counts, entry numbers, field names and reasons.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.operationoutcome import OperationOutcome
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from .. import audit
from ..imports import fhir, upsert
from ..imports.records import Record, UnusableInput
from ..models import Destination, DestinationKind, Office
from ..phones import DEFAULT_REGION
from ..refusals import Refusal, Refused
from .destination_settings import SUBSCRIPTION_TOKEN
from .fhir_http import FHIR_ID, FhirServer, reference_type, refused, relative
from .transports import DeliveryFailed, DestinationConfig

log = logging.getLogger(__name__)

PATH = "/fhir/subscription"
FETCH_TIMEOUT = 10.0  # seconds for all the reads of one notification
IMPORTED = ("Appointment", "Patient")
_NOBODY = hashlib.sha256(b"no destination").hexdigest()  # compared against when there is nothing to compare


def new_token(db: Session, destination: Destination, actor: str) -> str:
    """A new token for the Subscription's `channel.header`, returned this once; the old one stops working."""
    if destination.kind != DestinationKind.FHIR:
        raise Refused("", "only a FHIR destination takes Subscription notifications", Refusal.CONFLICT)
    token = "fhs_" + secrets.token_urlsafe(32)
    destination.settings = {**destination.settings, SUBSCRIPTION_TOKEN: _digest(token)}
    audit.record(db, destination.office_id, actor, "rotate_subscription_token", "writeback_destination", destination.id)
    return token


def endpoint(public_url: str, destination_id: int) -> str:
    """The Subscription's `channel.endpoint` for a destination."""
    return f"{public_url.rstrip('/')}{PATH}/{destination_id}"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def authenticated(db: Session, destination_id: str, authorization: str | None) -> Destination | None:
    """The FHIR destination whose Subscription token the `Authorization: Bearer` header holds, else None. An unknown
    id, a destination without a token and a wrong token take the same comparison and give the same None."""
    plain = destination_id.isascii() and destination_id.isdigit() and len(destination_id) <= 9
    destination = db.get(Destination, int(destination_id)) if plain else None
    expected = None
    if destination is not None and destination.kind == DestinationKind.FHIR:
        expected = destination.settings.get(SUBSCRIPTION_TOKEN)
    scheme, _, presented = (authorization or "").partition(" ")
    matches = hmac.compare_digest(_digest(presented.strip()), expected if isinstance(expected, str) else _NOBODY)
    if not matches or scheme.lower() != "bearer" or not isinstance(expected, str):
        return None
    return destination


@dataclass
class Received:
    status: int  # the HTTP status to answer with
    issues: list[tuple[str, str, str]] = field(default_factory=list)  # (severity, code, diagnostics)

    def outcome(self) -> dict[str, Any]:
        """The answer's OperationOutcome, validated."""
        issues = self.issues or [("information", "informational", "nothing to import")]
        resource = OperationOutcome.model_validate(
            {
                "resourceType": "OperationOutcome",
                "issue": [{"severity": s, "code": c, "diagnostics": d} for s, c, d in issues],
            }
        )
        return resource.model_dump(mode="json", exclude_none=True)


def unusable(status: int, why: str, code: str = "invalid") -> Received:
    return Received(status, [("error", code, why)])


def receive(
    sessions: sessionmaker[Session], destination: DestinationConfig, body: bytes, named: tuple[str, str] | None
) -> Received:
    """Import one notification. `named`: the (type, id) of the URL, when the server put the resource there."""
    with sessions() as db:
        office = db.get(Office, destination.office_id)
        if office is None or office.suspended_at is not None:
            return unusable(403, "the destination's office is suspended", "forbidden")
    with FhirServer(destination, timeout=FETCH_TIMEOUT) as server:
        try:
            entries = _entries(server, body, named)
        except UnusableInput as exc:
            return unusable(400, str(exc))
        except _Invalid as exc:
            return unusable(422, str(exc), "structure")
        except DeliveryFailed as exc:  # the changed Appointment could not be read back: the server may send again
            return unusable(503, f"the Appointment could not be read from the FHIR server: {exc.reason}", "transient")
        if not any(e["resource"].get("resourceType") in IMPORTED for e in entries):
            return Received(200, [("information", "informational", "nothing to import")])
        bundle, warnings = _with_participants(server, entries)
    items = fhir.read(json.dumps(bundle).encode(), DEFAULT_REGION)
    summary = upsert.run(sessions, items, "fhir", office_id=destination.office_id)
    log.info("FHIR notification for destination %s: %s", destination.id, "; ".join(summary.lines()))
    imported = bool(summary.patients) or sum(summary.appointments.values()) > 0
    unread = [("warning", "incomplete", w) for w in warnings]
    if summary.rejections and not imported:
        return Received(422, [("error", "processing", str(r)) for r in summary.rejections] + unread)
    rejected = [("warning", "processing", str(r)) for r in summary.rejections]
    noticed = [("warning", "informational", str(n)) for n in summary.warnings]  # imported, with a remark
    lines = ("information", "informational", "; ".join(summary.lines()))
    return Received(200, [lines, *rejected, *noticed, *unread])


class _Invalid(ValueError):
    """FHIR JSON that is not valid R4 (or not a resource this endpoint takes); the message names fields only."""


def _entries(server: FhirServer, body: bytes, named: tuple[str, str] | None) -> list[dict[str, Any]]:
    """The notification's resources, validated, as Bundle entries (with their fullUrl where they have one)."""
    if not body.strip():
        if named is None or named[0] != "Appointment":
            return []
        return [{"resource": _read(server, *named)}]
    document = fhir.parse(body)
    if not isinstance(document, dict) or not isinstance(document.get("resourceType"), str):
        raise UnusableInput("not a FHIR resource (a JSON object with resourceType)")
    kind = document["resourceType"]
    if named is not None and (named[0] != kind or str(document.setdefault("id", named[1])) != named[1]):
        raise _Invalid(f"the body is not the {named[0]} that the URL names")
    _validate(document)
    if kind in IMPORTED:
        return [{"resource": document}]
    if kind != "Bundle":
        raise _Invalid(f"a {kind[:40]} is not taken here: send Appointments (alone or in a Bundle)")
    return [
        {"resource": e["resource"], **({"fullUrl": e["fullUrl"]} if e.get("fullUrl") else {})}
        for e in document.get("entry", [])
        if isinstance(e.get("resource"), dict)  # a deleted resource's entry has none
    ]


def _validate(document: dict[str, Any]) -> None:
    try:
        model = get_fhir_model_class(document["resourceType"])
    except KeyError:
        raise _Invalid("resourceType is not a FHIR R4 resource") from None
    try:
        model.model_validate(document)
    except ValidationError as exc:
        where = ", ".join(".".join(str(p) for p in e["loc"]) + f": {e['type']}" for e in exc.errors()[:3])
        raise _Invalid(f"not valid FHIR R4 ({where})") from None


def _read(server: FhirServer, kind: str, resource_id: str) -> dict[str, Any]:
    """A resource from the FHIR server (raises DeliveryFailed when it cannot be read)."""
    if not FHIR_ID.fullmatch(resource_id):
        raise _Invalid("the URL's id is not a FHIR id")
    response = server.request("GET", f"{kind}/{resource_id}", what=f"GET {kind}")
    if response.status_code != 200:
        raise refused(response, f"GET {kind}")
    try:
        resource = response.json()
    except ValueError:
        resource = None
    if not isinstance(resource, dict) or resource.get("resourceType") != kind:
        raise DeliveryFailed(f"GET {kind}: HTTP 200 without a {kind}")
    _validate(resource)
    return resource


def _with_participants(server: FhirServer, entries: list[dict[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    """The import Bundle: the notification's resources, each Appointment's contained Patient under an identifier,
    and the participants read from the server. Also what could not be read, in words without patient data."""
    for number, entry in enumerate(list(entries), start=1):
        if entry["resource"].get("resourceType") == "Appointment":
            entry["resource"] = _hoisted(entry["resource"], number, entries)
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    present = {str(e["fullUrl"]) for e in entries if e.get("fullUrl")}
    present |= {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in entries if e["resource"].get("id")}
    wanted: dict[str, str] = {}  # reference -> type, in order
    for resource in _readable(bundle):
        for participant in resource.get("participant", []):
            actor = participant.get("actor") or {}
            reference = str(actor.get("reference") or "")
            kind = reference_type(reference)
            if _needs_reading(server, reference, kind, actor, present):
                wanted.setdefault(reference, kind)
    warnings: list[str] = []
    for reference, kind in wanted.items():
        try:
            resource = _read(server, kind, relative(reference).split("/")[-1])
            entries.append({"fullUrl": reference, "resource": resource})
        except (DeliveryFailed, _Invalid) as exc:
            warnings.append(f"a {kind} that an Appointment names could not be read: {exc}")
    return bundle, warnings


def _readable(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """The Bundle's Appointments that the FHIR reader takes as they stand (it lists them last, in Bundle order):
    only their participants are worth reading, so that a rejected appointment brings no patient in."""
    appointments = [e["resource"] for e in bundle["entry"] if e["resource"].get("resourceType") == "Appointment"]
    items = fhir.read(json.dumps(bundle).encode(), DEFAULT_REGION)
    read = items[len(items) - len(appointments) :]
    return [a for a, item in zip(appointments, read, strict=True) if isinstance(item, Record)]


def _needs_reading(server: FhirServer, reference: str, kind: str, actor: dict[str, Any], present: set[str]) -> bool:
    if kind not in ("Patient", "Location", "Practitioner") or reference.startswith(("#", "urn:")):
        return False
    if reference in present or relative(reference) in present:
        return False
    if "://" in reference and not server.owns(reference):
        return False  # another server's: our credentials do not go there
    return kind == "Patient" or not actor.get("display")


def _hoisted(appointment: dict[str, Any], number: int, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The Appointment with its contained Patients moved into the Bundle (without their local ids)."""
    contained = {c.get("id"): c for c in appointment.get("contained", []) if c.get("resourceType") == "Patient"}
    if not contained:
        return appointment
    moved = copy.deepcopy(appointment)
    for participant in moved.get("participant", []):
        actor = participant.get("actor") or {}
        local = str(actor.get("reference") or "")
        if local.startswith("#") and local[1:] in contained:
            url = f"urn:contained:{number}:{local[1:]}"
            actor["reference"] = url
            patient = {k: v for k, v in contained[local[1:]].items() if k != "id"}
            entries.append({"fullUrl": url, "resource": patient})
    return moved
