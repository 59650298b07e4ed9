"""The no-show follow-ups and recall texts that are due: whether each still applies, may go now, and the
patient's caps allow it; then its claim and its message row, in the one transaction the sender commits before
calling Twilio (`dispatcher.outreach`).

A follow-up is claimed by one conditional UPDATE (waiting -> sent), a recall text by one that counts the series'
texts up from the number it read, so two dispatchers never text the same one; a unique (series, number) stands
behind the recall's. A claim and its message row commit together or not at all.

Caps: these are healthcare texts under the FCC exemption, as reminders are, so a patient who had the office's
"reminders a day" (or a week) from reminders and these texts together gets the next one later, not skipped.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, union_all, update
from sqlalchemy.orm import Session

from ..conversations.staff_sms import Draft
from ..effective import TwilioConfig
from ..followup import noshows, recall
from ..followup.texts import Kind, text
from ..messaging.delivery import CONTACTED
from ..models import (
    Appointment,
    Clinic,
    Direction,
    FollowupSettings,
    FollowupStatus,
    Message,
    NoshowFollowup,
    Office,
    Patient,
    RecallSeries,
    RecallStatus,
    RecallText,
)
from ..phones import display
from ..planning import patient_zone, window_of
from ..scheduling.timing import next_allowed
from . import outreach
from .prepare import CAP_DAY

DUE_PER_ROUND = 50
RECHECK = timedelta(hours=1)  # a text held by a cap, a missing sending number or a carrier registration


def office_rows(db: Session) -> list[tuple[Office, FollowupSettings]]:
    return [(office, row) for office, row in db.execute(select(Office, FollowupSettings).join(FollowupSettings))]


def over_cap(db: Session, office: Office, patient_id: int, now: datetime) -> bool:
    """Has the patient had the office's healthcare texts for today, or this week (reminders and these)?"""
    ours = union_all(
        select(NoshowFollowup.message_id).where(NoshowFollowup.patient_id == patient_id),
        select(RecallText.message_id).join(RecallSeries).where(RecallSeries.patient_id == patient_id),
    )
    sent = list(
        db.scalars(
            select(Message.created_at).where(
                Message.patient_id == patient_id,
                Message.direction == Direction.OUTBOUND,
                Message.status.in_(CONTACTED),
                Message.created_at >= now - timedelta(days=7),
                or_(Message.reminder_id.is_not(None), Message.id.in_(ours)),
            )
        )
    )
    today = sum(1 for at in sent if at >= now - CAP_DAY)
    return today >= office.max_reminders_per_day or len(sent) >= office.max_reminders_per_week


def _may_go(
    db: Session, office: Office, config: TwilioConfig, patient: Patient, clinic: Clinic, now: datetime
) -> outreach.Reachable | str | datetime:
    """How to text the patient now, or why it may never go (words for staff), or when to look again."""
    texts_from = outreach.sender(db, office, config, clinic)
    if not isinstance(texts_from, outreach.Sender):
        return now + RECHECK  # set-up, not the patient: it goes once the number is there
    reach = outreach.reachable(patient, texts_from)
    if not isinstance(reach, outreach.Reachable):
        return reach
    if (allowed := next_allowed(now, patient_zone(patient, clinic), window_of(office))) > now:
        return allowed
    if over_cap(db, office, patient.id, now):
        return now + RECHECK
    return reach


def _write(
    db: Session,
    office: Office,
    config: TwilioConfig,
    to: outreach.Reachable,
    patient: Patient,
    clinic: Clinic,
    kind: Kind,
    own: dict[str, str],
) -> Draft:
    body = text(kind, patient.language, own, clinic=clinic.name, phone=display(clinic.phone))
    return outreach.write(db, office, config, patient, to, body)


# --- no-show follow-ups -------------------------------------------------------------------------------------


def noshow_drafts(
    db: Session, office: Office, row: FollowupSettings, config: TwilioConfig, now: datetime
) -> list[Draft]:
    due = db.scalars(
        select(NoshowFollowup)
        .where(
            NoshowFollowup.office_id == office.id,
            NoshowFollowup.status == FollowupStatus.WAITING,
            NoshowFollowup.due_at <= now,
        )
        .order_by(NoshowFollowup.due_at, NoshowFollowup.id)
        .limit(DUE_PER_ROUND)
    )
    drafts = []
    for followup in list(due):
        why = "no-show follow-ups are turned off" if not row.noshow_enabled else noshows.not_wanted(db, followup, now)
        if why is not None:
            followup.status, followup.reason = FollowupStatus.SKIPPED, why
            continue
        missed = db.get(Appointment, followup.appointment_id)
        assert missed is not None  # not_wanted says so
        patient, clinic = followup.patient, missed.clinic
        reach = _may_go(db, office, config, patient, clinic, now)
        if isinstance(reach, str):
            followup.status, followup.reason = FollowupStatus.SKIPPED, reach
        elif isinstance(reach, datetime):
            followup.due_at = reach
        elif _claim_followup(db, followup.id, now):  # else another dispatcher took it meanwhile
            draft = _write(db, office, config, reach, patient, clinic, Kind.NOSHOW, row.noshow_templates)
            followup.status, followup.message_id, followup.sent_at = FollowupStatus.SENT, draft.message_id, now
            drafts.append(draft)
    db.flush()
    return drafts


def _claim_followup(db: Session, followup_id: int, now: datetime) -> bool:
    claimed = db.execute(
        update(NoshowFollowup)
        .where(NoshowFollowup.id == followup_id, NoshowFollowup.status == FollowupStatus.WAITING)
        .values(status=FollowupStatus.SENT, sent_at=now)
        .returning(NoshowFollowup.id)
        .execution_options(synchronize_session=False)
    )
    return claimed.first() is not None


# --- recall ---------------------------------------------------------------------------------------------------


def _recall_clinic(db: Session, office: Office, series: RecallSeries) -> Clinic | None:
    """The clinic of the visit recall counts from, else of the patient's latest visit, else the office's first."""
    visit = db.get(Appointment, series.visit_id) if series.visit_id is not None else None
    if visit is None:
        visit = db.scalar(
            select(Appointment)
            .where(Appointment.patient_id == series.patient_id)
            .order_by(Appointment.starts_at.desc())
            .limit(1)
        )
    if visit is not None:
        return visit.clinic
    return db.scalar(select(Clinic).where(Clinic.office_id == office.id).order_by(Clinic.id).limit(1))


def recall_drafts(
    db: Session, office: Office, row: FollowupSettings, config: TwilioConfig, now: datetime
) -> list[Draft]:
    if not row.recall_enabled:
        return []
    due = db.scalars(
        select(RecallSeries)
        .where(
            RecallSeries.office_id == office.id,
            RecallSeries.status == RecallStatus.ACTIVE,
            RecallSeries.next_at <= now,
        )
        .order_by(RecallSeries.next_at, RecallSeries.id)
        .limit(DUE_PER_ROUND)
    )
    drafts = []
    for series in list(due):
        if (booked := recall.booked_since(db, series, now)) is not None:
            series.status, series.booked_appointment_id, series.reason = RecallStatus.BOOKED, booked, "booked"
            continue
        if series.texts_sent >= row.recall_texts:
            series.status, series.reason = RecallStatus.DONE, f"{series.texts_sent} text(s) and no booking"
            continue
        clinic = _recall_clinic(db, office, series)
        if clinic is None:
            series.next_at = now + RECHECK
            continue
        reach = _may_go(db, office, config, series.patient, clinic, now)
        if isinstance(reach, str):
            series.status, series.reason = RecallStatus.STOPPED, reach
        elif isinstance(reach, datetime):
            series.next_at = reach
        elif _claim_recall(db, series, now + timedelta(days=row.recall_spacing_days), now):
            draft = _write(db, office, config, reach, series.patient, clinic, Kind.RECALL, row.recall_templates)
            db.add(
                RecallText(
                    office_id=office.id,
                    series_id=series.id,
                    number=series.texts_sent,
                    message_id=draft.message_id,
                    created_at=now,  # the dispatcher's clock, as the series' times
                )
            )
            drafts.append(draft)
    db.flush()
    return drafts


def _claim_recall(db: Session, series: RecallSeries, next_at: datetime, now: datetime) -> bool:
    """The series' next text is this dispatcher's: its count goes up from the one read."""
    claimed = db.execute(
        update(RecallSeries)
        .where(
            RecallSeries.id == series.id,
            RecallSeries.status == RecallStatus.ACTIVE,
            RecallSeries.texts_sent == series.texts_sent,
            RecallSeries.next_at <= now,
        )
        .values(texts_sent=RecallSeries.texts_sent + 1, next_at=next_at)
        .returning(RecallSeries.texts_sent)
        .execution_options(synchronize_session=False)
    )
    number = claimed.scalar()
    if number is None:
        return False
    series.texts_sent, series.next_at = number, next_at
    return True
