"""A patient's "1" or "3" to a no-show follow-up or a recall text (when `conversations.answered_text` finds it
the newest of the patient's texts): "1" asks to be called, so it waits in the inbox for a person; "3" joins the
waitlist when the office keeps one (the waitlist then offers freed times and its YES books them), else it too
waits for a call. Either way the series stops texting: the patient has answered. A "1" after a newer reminder
confirms that appointment instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from ..messaging.replies import Intent
from ..models import (
    Appointment,
    EntrySource,
    FollowupAnswer,
    NoshowFollowup,
    Office,
    Patient,
    RecallSeries,
    RecallStatus,
    WaitlistSettings,
)
from ..phones import display
from ..refusals import Refused
from ..waitlist import entries
from .texts import Answer, answer_text

ACTOR = "patient:followup"
INTENTS = (Intent.CONFIRM, Intent.RESCHEDULE)


@dataclass(frozen=True)
class Asked:
    """The text answered: a no-show's follow-up or a recall series' latest text."""

    at: datetime
    followup: NoshowFollowup | None = None
    series: RecallSeries | None = None


def asked(db: Session, text_id: int, at: datetime, recall: bool) -> Asked:
    """The text answered: the no-show follow-up `text_id`, or with `recall` the series `text_id`'s latest text."""
    if recall:
        return Asked(at, series=db.get(RecallSeries, text_id))
    return Asked(at, followup=db.get(NoshowFollowup, text_id))


@dataclass(frozen=True)
class Taken:
    text: str
    needs_person: bool


def take(db: Session, office: Office, ask: Asked, intent: Intent, now: datetime) -> Taken:
    """Acts on the answer; returns the reply and whether a person must call."""
    patient, about = _about(db, ask)
    clinic = about.clinic if about is not None else None
    names = {"clinic": clinic.name if clinic else office.name, "phone": display(clinic.phone) if clinic else ""}
    kind, joined = Answer.CALL, False
    if intent == Intent.RESCHEDULE:
        joined = _join(db, office, patient, about)
        kind = Answer.WAITLIST if joined else Answer.CALL_NO_WAITLIST
    how = FollowupAnswer.WAITLIST if joined else FollowupAnswer.CALL
    if ask.followup is not None:
        ask.followup.answer, ask.followup.answered_at = how, now
    if ask.series is not None and ask.series.status == RecallStatus.ACTIVE:
        ask.series.status, ask.series.reason = RecallStatus.ANSWERED, f"the patient answered: {how}"
    return Taken(answer_text(kind, patient.language, **names), needs_person=not joined)


def _about(db: Session, ask: Asked) -> tuple[Patient, Appointment | None]:
    """The patient, and the visit the text was about (the one missed, or the last one recall counts from)."""
    if ask.followup is not None:
        return ask.followup.patient, db.get(Appointment, ask.followup.appointment_id)
    assert ask.series is not None
    visit = db.get(Appointment, ask.series.visit_id) if ask.series.visit_id is not None else None
    return ask.series.patient, visit


def _join(db: Session, office: Office, patient: Patient, about: Appointment | None) -> bool:
    """On the waitlist for the same clinic, provider and kind, when the office keeps one; False otherwise."""
    keeps = db.get(WaitlistSettings, office.id)
    if keeps is None or not keeps.enabled:
        return False
    wish = entries.Join(
        patient_id=patient.id,
        clinic_id=about.clinic_id if about else None,
        provider_id=about.provider_id if about else None,
        kind=about.kind if about else None,
    )
    try:
        entries.join(db, office, wish, ACTOR, EntrySource.RESCHEDULE)
    except Refused:  # a clinic or provider deactivated since: any time at the office will do
        entries.join(db, office, entries.Join(patient_id=patient.id), ACTOR, EntrySource.RESCHEDULE)
    return True
