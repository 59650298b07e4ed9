"""Changing an office's write-back destinations, testing them, and sending a delivery again: the one path for the
JSON API (`/api/writeback/...`) and the staff pages.

Input that will not do is refused (`refusals.Refused`) before anything changes; nothing is committed here, the
caller commits. The secret (a webhook's signing secret, a FHIR token or private key) is encrypted with `SecretBox`
and never returned again; a webhook's is generated and returned once, at creation and when it is rotated. Every
configuration change writes an audit entry naming fields, never values.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from .. import audit
from ..crypto import DecryptionError, SecretBox
from ..models import Delivery, DeliveryStatus, Destination, DestinationKind, utcnow
from ..refusals import Refusal, Refused
from . import engine, registry, sample
from .destination_settings import check_secret, clean, kept, kind_of, new_webhook_secret
from .outcomes import FAILED, OK
from .transports import DeliveryFailed

log = logging.getLogger(__name__)

TEST_TIMEOUT = 10.0  # seconds: a person waits for the answer


@dataclass(frozen=True)
class Saved:
    destination: Destination
    secret: str | None  # a webhook's new signing secret, to show this once; None otherwise


@dataclass(frozen=True)
class TestResult:
    ok: bool
    result: str  # as stored in `last_result`
    at: datetime


def _name(db: Session, office_id: int, value: str, exclude: int | None = None) -> str:
    name = value.strip() if isinstance(value, str) else ""
    if not name:
        raise Refused("name", "fill this in")
    if len(name) > 100:
        raise Refused("name", "use at most 100 characters")
    taken = select(Destination.id).where(Destination.office_id == office_id, Destination.name == name)
    if exclude is not None:
        taken = taken.where(Destination.id != exclude)
    if db.scalar(taken.limit(1)) is not None:
        raise Refused("name", "another destination has this name", Refusal.CONFLICT)
    return name


def _stored_secret(destination: Destination, box: SecretBox) -> str | None:
    if destination.secret_encrypted is None:
        return None
    try:
        return box.decrypt(destination.secret_encrypted)
    except DecryptionError:
        message = "the saved secret cannot be read with the server's current secret key: give it again"
        raise Refused("secret", message) from None


def _no_typed_secret(kind: DestinationKind, secret: str | None) -> None:
    if secret and kind is DestinationKind.WEBHOOK:
        raise Refused("secret", "a webhook's signing secret is made by the server: rotate it instead")
    if secret and kind is DestinationKind.HL7:
        raise Refused("secret", "an HL7 destination has no secret")


def create(
    db: Session,
    office_id: int,
    *,
    name: str,
    kind: str,
    settings: dict[str, Any],
    secret: str | None,
    enabled: bool,
    box: SecretBox,
    actor: str,
) -> Saved:
    the_kind = kind_of(kind)
    cleaned = clean(the_kind, settings)
    name = _name(db, office_id, name)
    secret = (secret or "").strip() or None
    _no_typed_secret(the_kind, secret)
    if the_kind is DestinationKind.WEBHOOK:
        secret = new_webhook_secret()
    secret = check_secret(the_kind, cleaned, secret)
    destination = Destination(
        office_id=office_id,
        name=name,
        kind=the_kind.value,
        settings=cleaned,
        secret_encrypted=box.encrypt(secret) if secret else None,
        enabled=enabled,
    )
    db.add(destination)
    db.flush()
    audit.record(db, office_id, actor, "create", "writeback_destination", destination.id, kind=the_kind.value)
    return Saved(destination, secret if the_kind is DestinationKind.WEBHOOK else None)


def change(
    db: Session,
    destination: Destination,
    *,
    box: SecretBox,
    actor: str,
    name: str | None = None,
    settings: dict[str, Any] | None = None,
    secret: str | None = None,
    enabled: bool | None = None,
) -> list[str]:
    """`settings`, when given, replaces the saved settings as a whole; a secret left out (or empty) is kept.
    Returns the changed field names."""
    kind = DestinationKind(destination.kind)
    new_name = _name(db, destination.office_id, name, exclude=destination.id) if name is not None else destination.name
    changed = ["name"] if new_name != destination.name else []
    stored = destination.settings
    cleaned = {**clean(kind, settings), **kept(stored)} if settings is not None else dict(stored)
    changed += sorted(f"settings.{k}" for k in set(cleaned) | set(stored) if cleaned.get(k) != stored.get(k))
    secret = (secret or "").strip() or None
    _no_typed_secret(kind, secret)
    if secret is not None:
        secret = check_secret(kind, cleaned, secret)
    elif any(c.startswith("settings.") for c in changed):
        check_secret(kind, cleaned, _stored_secret(destination, box))
    if secret is not None and secret != _stored_secret(destination, box):
        changed.append("secret")
    if enabled is not None and enabled != destination.enabled:
        changed.append("enabled")
    if not changed:
        return []
    destination.name = new_name
    destination.settings = cleaned  # a new dict: the JSON column sees a change only by assignment
    if "secret" in changed and secret is not None:
        destination.secret_encrypted = box.encrypt(secret)
    if enabled is not None:
        destination.enabled = enabled
    audit.record(db, destination.office_id, actor, "update", "writeback_destination", destination.id, fields=changed)
    return changed


def set_enabled(db: Session, destination: Destination, enabled: bool, actor: str) -> None:
    """A disabled destination keeps its settings and its deliveries; nothing new is sent to it."""
    if destination.enabled != enabled:
        destination.enabled = enabled
        action = "enable" if enabled else "disable"
        audit.record(db, destination.office_id, actor, action, "writeback_destination", destination.id)


def remove(db: Session, destination: Destination, actor: str) -> None:
    """The destination and its deliveries (sent or not) are deleted."""
    db.execute(delete(Delivery).where(Delivery.destination_id == destination.id))
    audit.record(
        db, destination.office_id, actor, "delete", "writeback_destination", destination.id, kind=destination.kind
    )
    db.delete(destination)
    db.flush()


def rotate_secret(db: Session, destination: Destination, box: SecretBox, actor: str) -> str:
    """A new signing secret for a webhook, returned this once; the old one stops working at once."""
    if destination.kind != DestinationKind.WEBHOOK:
        raise Refused(
            "",
            "only a webhook's signing secret is made by the server: give the new secret by editing it",
            Refusal.CONFLICT,
        )
    secret = new_webhook_secret()
    destination.secret_encrypted = box.encrypt(secret)
    audit.record(db, destination.office_id, actor, "rotate_secret", "writeback_destination", destination.id)
    return secret


def resume(db: Session, destination: Destination, actor: str, *, retry_failed: bool = True) -> int:
    """Ends a pause (set when deliveries failed for the whole retry window); with `retry_failed`, its failed
    deliveries are sent again, each with a new window. Returns how many were."""
    was_paused = destination.paused_at is not None
    if retry_failed:
        again = engine.resume(db, destination)
    else:
        destination.paused_at, destination.paused_reason, again = None, None, 0
    if was_paused or again:
        audit.record(
            db, destination.office_id, actor, "resume", "writeback_destination", destination.id, sent_again=again
        )
    return again


def send_test(db: Session, destination: Destination, box: SecretBox, actor: str | None = None) -> TestResult:
    """Sends `sample.payload` now, through the destination's transport, and keeps the outcome as its last result.
    Whatever goes wrong is the result (the page shows it), not an error."""
    payload = sample.payload(destination.office_id)
    try:
        config = registry.config_of(destination, box)
        answer = registry.transport_for(destination.kind).send(config, payload, timeout=TEST_TIMEOUT)
        ok, text = True, OK + answer
    except DeliveryFailed as exc:
        ok, text = False, FAILED + exc.reason
    except DecryptionError:
        ok, text = False, FAILED + "the saved secret cannot be read with the server's current secret key"
    except Exception as exc:  # a transport's own fault: said on the page, told in full in the log
        log.exception("write-back test of destination %s failed unexpectedly", destination.id)
        ok, text = False, FAILED + f"unexpected error ({type(exc).__name__}); the server's log has the details"
    destination.last_result = text[:300]
    destination.last_result_at = utcnow()
    if actor is not None:
        audit.record(db, destination.office_id, actor, "test", "writeback_destination", destination.id, ok=ok)
    return TestResult(ok, destination.last_result, destination.last_result_at)


def retry_delivery(db: Session, delivery: Delivery, office_id: int, actor: str) -> None:
    """Sends a failed or pending delivery again as soon as its turn comes, with a new retry window."""
    if delivery.office_id != office_id:
        raise Refused("", f"no delivery {delivery.id}", Refusal.NOT_FOUND)
    if delivery.status not in (DeliveryStatus.FAILED, DeliveryStatus.PENDING):
        raise Refused("", "it was delivered: there is nothing to send again", Refusal.CONFLICT)
    engine.retry(db, delivery)
    audit.record(db, office_id, actor, "retry", "writeback_delivery", delivery.id)


def status_of(destination: Destination) -> str:
    """active, paused (by the engine, after the whole retry window failed) or disabled (by staff)."""
    if not destination.enabled:
        return "disabled"
    return "paused" if destination.paused_at is not None else "active"


def counts(db: Session, office_id: int) -> dict[int, dict[str, int]]:
    """{destination id: {status: deliveries}} for the office."""
    rows = db.execute(
        select(Delivery.destination_id, Delivery.status, func.count())
        .where(Delivery.office_id == office_id)
        .group_by(Delivery.destination_id, Delivery.status)
    ).all()
    found: dict[int, dict[str, int]] = {}
    for destination_id, status, number in rows:
        found.setdefault(destination_id, {})[status] = number
    return found
