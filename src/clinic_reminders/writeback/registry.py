"""The transports by destination kind: one explicit table, imported when first used."""

from __future__ import annotations

from importlib import import_module

from ..models import DestinationKind
from .transports import Transport

_TRANSPORTS = {
    DestinationKind.WEBHOOK: "clinic_reminders.writeback.webhook:WebhookTransport",
    DestinationKind.HL7: "clinic_reminders.writeback.hl7_out:Hl7Transport",
    DestinationKind.FHIR: "clinic_reminders.writeback.fhir_out:FhirTransport",
}


def transport_for(kind: str) -> Transport:
    module, _, name = _TRANSPORTS[DestinationKind(kind)].partition(":")
    transport: Transport = getattr(import_module(module), name)()
    return transport
