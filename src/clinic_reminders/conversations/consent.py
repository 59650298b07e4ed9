"""Recording opt-outs and opt-ins with their time and source (and an event each); an opt-out takes effect at once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from .. import audit, events
from ..models import Channel, ConsentAction, ConsentEvent, EventType, Patient


def opt_out(db: Session, patient: Patient, channel: Channel, source: str, now: datetime) -> None:
    if channel == Channel.SMS:
        if patient.sms_opted_out_at is not None:
            return
        patient.sms_opted_out_at, patient.sms_opt_out_source = now, source
    else:
        if patient.voice_opted_out_at is not None:
            return
        patient.voice_opted_out_at, patient.voice_opt_out_source = now, source
    _event(db, patient, channel, ConsentAction.OPT_OUT, source, now)


def opt_in(db: Session, patient: Patient, channel: Channel, source: str, now: datetime) -> None:
    if channel == Channel.SMS:
        if patient.sms_opted_out_at is None:
            return
        patient.sms_opted_out_at, patient.sms_opt_out_source = None, None
    else:
        if patient.voice_opted_out_at is None:
            return
        patient.voice_opted_out_at, patient.voice_opt_out_source = None, None
    _event(db, patient, channel, ConsentAction.OPT_IN, source, now)


def _event(db: Session, patient: Patient, channel: Channel, action: ConsentAction, source: str, now: datetime) -> None:
    log_change(db, patient, channel, action, source, now)
    audit.record(db, patient.office_id, source, str(action), "patient", patient.id, channel=str(channel))


_OUTBOX = {ConsentAction.OPT_OUT: EventType.PATIENT_OPTED_OUT, ConsentAction.OPT_IN: EventType.PATIENT_OPTED_IN}


def log_change(
    db: Session, patient: Patient, channel: Channel, action: ConsentAction, source: str, now: datetime
) -> None:
    """The consent trail's row of a change, by a patient or by staff (patient_changes), and for an opt-out or an
    opt-in its event."""
    db.add(
        ConsentEvent(
            office_id=patient.office_id, patient_id=patient.id, channel=channel, action=action, source=source, at=now
        )
    )
    if action in _OUTBOX:
        events.record(
            db, patient.office_id, _OUTBOX[action], patient_id=patient.id, channel=str(channel), source=source
        )
