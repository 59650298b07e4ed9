"""The transports by destination kind: one explicit table, imported when first used."""

from __future__ import annotations

from importlib import import_module

from ..crypto import SecretBox
from ..models import Destination, DestinationKind
from .transports import DestinationConfig, Transport

_TRANSPORTS = {
    DestinationKind.WEBHOOK: "clinic_reminders.writeback.webhook:WebhookTransport",
    DestinationKind.HL7: "clinic_reminders.writeback.hl7_out:Hl7Transport",
    DestinationKind.FHIR: "clinic_reminders.writeback.fhir_out:FhirTransport",
}


def transport_for(kind: str) -> Transport:
    module, _, name = _TRANSPORTS[DestinationKind(kind)].partition(":")
    transport: Transport = getattr(import_module(module), name)()
    return transport


def config_of(destination: Destination, box: SecretBox) -> DestinationConfig:
    """A destination row as its transport sees it, the secret decrypted."""
    secret = box.decrypt(destination.secret_encrypted) if destination.secret_encrypted else None
    return DestinationConfig(
        id=destination.id,
        office_id=destination.office_id,
        kind=destination.kind,
        name=destination.name,
        settings=dict(destination.settings),
        secret=secret,
    )
