"""Writing a patient's phones and consent: the parts of a patient change that need more than setattr.

Shared by the JSON API and the schedule imports. Consent and opt-out changes are kept as `ConsentEvent` rows
(who, when, which channel) because a carrier or a regulator may ask why a patient was or was not texted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.orm import Session

from .models import Channel, ConsentAction, ConsentEvent, Patient, PatientPhone, PhoneKind, utcnow
from .phones import guess_kind


class PhoneEntry(Protocol):
    """A number in E.164 and its kind, when known (the API's `PhoneIn`, an import's phone)."""

    @property
    def number(self) -> str: ...

    @property
    def kind(self) -> PhoneKind | None: ...


def set_phones(patient: Patient, phones: Sequence[PhoneEntry]) -> bool:
    """Replaces the list in order; a number kept keeps its row (and its invalid mark). True if anything changed."""
    before = [(p.number, p.kind) for p in patient.phones]
    existing = {p.number: p for p in patient.phones}
    rows: list[PatientPhone] = []
    for position, phone in enumerate(phones):
        kind = str(phone.kind or guess_kind(phone.number))
        row = existing.get(phone.number) or PatientPhone(office_id=patient.office_id, number=phone.number)
        if phone.kind is not None or row.id is None:
            row.kind = kind
        row.position = position
        rows.append(row)
    patient.phones = rows
    return before != [(p.number, p.kind) for p in rows]


def _event(db: Session, patient: Patient, channel: Channel, action: ConsentAction, source: str) -> None:
    db.add(
        ConsentEvent(office_id=patient.office_id, patient_id=patient.id, channel=channel, action=action, source=source)
    )


def set_consent(db: Session, patient: Patient, channel: Channel, consent: bool, source: str) -> bool:
    attr = f"{channel.value}_consent"
    if getattr(patient, attr) == consent:
        return False
    setattr(patient, attr, consent)
    _event(db, patient, channel, ConsentAction.CONSENT if consent else ConsentAction.WITHDRAW, source)
    return True


def set_opted_out(db: Session, patient: Patient, channel: Channel, opted_out: bool, source: str) -> bool:
    at_attr, source_attr = f"{channel.value}_opted_out_at", f"{channel.value}_opt_out_source"
    if (getattr(patient, at_attr) is not None) == opted_out:
        return False
    setattr(patient, at_attr, utcnow() if opted_out else None)
    setattr(patient, source_attr, source if opted_out else None)
    _event(db, patient, channel, ConsentAction.OPT_OUT if opted_out else ConsentAction.OPT_IN, source)
    return True


def apply_consents(db: Session, patient: Patient, values: dict[str, object], source: str) -> list[str]:
    """Applies the consent/opt-out flags present in `values`; returns the names of those that changed."""
    changed: list[str] = []
    for channel in Channel:
        consent = values.get(f"{channel.value}_consent")
        if isinstance(consent, bool) and set_consent(db, patient, channel, consent, source):
            changed.append(f"{channel.value}_consent")
        opted_out = values.get(f"{channel.value}_opted_out")
        if isinstance(opted_out, bool) and set_opted_out(db, patient, channel, opted_out, source):
            changed.append(f"{channel.value}_opted_out")
    return changed
