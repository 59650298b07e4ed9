"""What the write-back tests share: a transport that records what it is given (put in place of the registry's,
whose webhook, HL7 and FHIR modules are not needed to test staff's side), keys and certificates made on the spot,
and deliveries in each status."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy.orm import Session

from clinic_reminders import events
from clinic_reminders.models import Delivery, Destination, Event, EventType, Office, utcnow
from clinic_reminders.writeback import registry
from clinic_reminders.writeback.transports import DeliveryFailed, DestinationConfig, Payload


@dataclass
class RecordingTransport:
    """Answers `answer`, or raises `failure`; keeps every (destination, payload, timeout) it was given."""

    kind: ClassVar[str] = "any"
    answer: str = "HTTP 200"
    failure: Exception | None = None
    sent: list[tuple[DestinationConfig, Payload, float]] = field(default_factory=list)

    def send(self, destination: DestinationConfig, payload: Payload, *, timeout: float) -> str:
        self.sent.append((destination, payload, timeout))
        if self.failure is not None:
            raise self.failure
        return self.answer


def use_transport(monkeypatch: pytest.MonkeyPatch, transport: RecordingTransport) -> RecordingTransport:
    monkeypatch.setattr(registry, "transport_for", lambda kind: transport)
    return transport


REFUSED = DeliveryFailed("HTTP 503 from the receiver")


def rsa_key_pem(bits: int = 2048) -> str:
    return _pem(rsa.generate_private_key(public_exponent=65537, key_size=bits))


def ec_key_pem(curve: ec.EllipticCurve | None = None) -> str:
    return _pem(ec.generate_private_key(curve or ec.SECP384R1()))


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def ca_certificate_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test interface engine CA")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def add_delivery(
    db: Session,
    office: Office,
    destination: Destination,
    status: str,
    *,
    appointment_id: int | None = None,
    event_type: EventType = EventType.APPOINTMENT_CONFIRMED,
    attempts: int = 0,
    last_error: str | None = None,
) -> Delivery:
    """A delivery of a new event, as the engine leaves it in `status`."""
    events.record(db, office.id, event_type, appointment_id=appointment_id, previous="scheduled", by="patient")
    db.flush()
    event = db.query(Event).order_by(Event.id.desc()).first()
    assert event is not None
    now = utcnow()
    delivery = Delivery(
        office_id=office.id,
        destination_id=destination.id,
        event_id=event.id,
        appointment_id=appointment_id,
        status=status,
        attempts=attempts,
        last_error=last_error,
        first_attempt_at=now - timedelta(days=3) if attempts else None,
        next_attempt_at=now + timedelta(hours=1),
        delivered_at=now if status == "delivered" else None,
    )
    db.add(delivery)
    db.flush()
    return delivery
