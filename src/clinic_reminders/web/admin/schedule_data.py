"""The schedule's rows: appointments of a day (or a few) with their state and reminder trail, in a few queries.

One page costs a fixed number of queries whatever its size: the count, the page of appointments (patients,
phones and providers loaded with them), their reminders, their messages. Clinics and rules are read once.

Rows come by day, then by clinic, then by start: each clinic's day reads in its own local time (sorting a day
of several zones by UTC would put 9:30 MST between 8:30 and 10:45 CST). `layout` adds the headings and, on
today, the "now" line of each clinic.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from itertools import groupby
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, CompoundSelect, Select, and_, case, exists, func, select, true, union
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.sql.expression import Exists

from ...local_time import display
from ...messaging.delivery import REACHED, UNREACHED
from ...models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentStatus,
    Clinic,
    Direction,
    Message,
    Patient,
    Reminder,
    ReminderRule,
    ReminderStatus,
    utcnow,
)
from ...models.messages import REMINDER_TEXT
from ...patient_search import patient_search
from ...registration.senders import WAITING_FOR_REGISTRATION
from ...scheduling.timing import local_datetime
from ...telehealth.rooms import VideoPolicy, visit_closes_at
from ..api.appointment_filters import date_range

PAGE_SIZE = 100
SPANS = ((1, "Day"), (3, "3 days"), (7, "Week"))
STATE_LABELS = {
    "scheduled": "Scheduled",
    "no-answer": "No answer yet",
    "confirmed": "Confirmed",
    "cancelled": "Cancelled",
    "reschedule-requested": "Reschedule requested",
    "completed": "Completed",
    "no-show": "No-show",
}
STATUS_FILTERS = (("", "All"), *STATE_LABELS.items(), ("attention", "Needs attention"))
ANSWERS = {
    "confirm": "confirmed",
    "cancel": "cancelled",
    "reschedule": "asked to reschedule",
    "opt_out": "opted out",
    "opt_in": "opted back in",
    "help": "asked for help",
    "unknown": "needs a person",
}


@dataclass(frozen=True)
class Filters:
    day: date
    days: int = 1
    clinic_id: int | None = None
    provider_id: int | None = None
    status: str = ""
    q: str = ""
    page: int = 1

    def query(self, **changes: object) -> str:
        f = replace(self, **changes)  # type: ignore[arg-type]
        pairs = {"day": f.day.isoformat(), "days": f.days, "clinic_id": f.clinic_id, "provider_id": f.provider_id}
        pairs.update(status=f.status, q=f.q, page=f.page if f.page > 1 else None)
        return urlencode({k: v for k, v in pairs.items() if v not in (None, "")})


def _int(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


def home_zone(clinics: Sequence[Clinic], clinic_id: int | None) -> str:
    """The zone "today" is counted in: the chosen clinic's, else the first clinic's."""
    chosen = [c for c in clinics if c.id == clinic_id] or list(clinics)
    return chosen[0].timezone if chosen else "UTC"


def parse_filters(params: Mapping[str, str], clinics: Sequence[Clinic]) -> Filters:
    """Tolerant: a bad value falls back to its default instead of failing the page."""
    clinic_id = _int(params.get("clinic_id"))
    try:
        day = date.fromisoformat(params.get("day", ""))
    except ValueError:
        day = datetime.now(ZoneInfo(home_zone(clinics, clinic_id))).date()
    days = _int(params.get("days")) or 1
    status = params.get("status", "")
    return Filters(
        day=day,
        days=days if days in dict(SPANS) else 1,
        clinic_id=clinic_id,
        provider_id=_int(params.get("provider_id")),
        status=status if status in dict(STATUS_FILTERS) else "",
        q=params.get("q", "").strip()[:100],
        page=max(_int(params.get("page")) or 1, 1),
    )


def _sent_reminder() -> Exists:
    """A reminder reached (or is on its way to) the patient: sent and not reported failed."""
    return exists().where(
        Message.appointment_id == Appointment.id,
        Message.direction == Direction.OUTBOUND,
        REMINDER_TEXT,
        Message.status.not_in(UNREACHED),
    )


def _answered() -> Exists:
    return exists().where(Message.appointment_id == Appointment.id, Message.direction == Direction.INBOUND)


def view_query(office_id: int, clinics: Sequence[Clinic], f: Filters, *, with_status: bool = True) -> Select[Any]:
    """Ids of the appointments the filters select (the status filter left out when `with_status` is false)."""
    stmt = select(Appointment.id).where(Appointment.office_id == office_id)
    in_view = [c for c in clinics if f.clinic_id is None or c.id == f.clinic_id]
    in_range = date_range(f.day, f.day + timedelta(days=f.days - 1), in_view)
    stmt = stmt.where(in_range if in_range is not None else true())
    if f.provider_id is not None:
        stmt = stmt.where(Appointment.provider_id == f.provider_id)
    if f.q:
        stmt = stmt.join(Patient, Patient.id == Appointment.patient_id).where(patient_search(f.q))
    if with_status and f.status == "no-answer":
        stmt = stmt.where(Appointment.status == AppointmentStatus.SCHEDULED, _sent_reminder(), ~_answered())
    elif with_status and f.status == "scheduled":
        stmt = stmt.where(Appointment.status == f.status, ~(_sent_reminder() & ~_answered()))
    elif with_status and f.status == "attention":
        flagged = Appointment.staff_flag.is_not(None)
        stmt = stmt.where(flagged | (Appointment.status == AppointmentStatus.RESCHEDULE_REQUESTED))
    elif with_status and f.status:
        stmt = stmt.where(Appointment.status == f.status)
    return stmt


def status_counts(db: Session, office_id: int, clinics: Sequence[Clinic], f: Filters) -> dict[str, int]:
    stmt = view_query(office_id, clinics, f, with_status=False)
    grouped = stmt.with_only_columns(Appointment.status, func.count()).group_by(Appointment.status)
    return {str(status): int(n) for status, n in db.execute(grouped)}


@dataclass
class Step:
    """One line of an appointment's reminder trail."""

    kind: str  # planned, waiting (for carrier registration), sending, sent, delivered, failed, skipped, answered
    label: str
    at: datetime | None
    detail: str = ""  # why: an error, a reason for skipping (shown)
    rule: str = ""  # which rule it came from (a tooltip)


@dataclass
class Row:
    appointment: Appointment
    zone: str
    clinic_name: str
    state: str
    steps: list[Step] = field(default_factory=list)
    can_remind: bool = False
    started: bool = False
    video: str = ""  # a video visit's window: "open" (the provider may start it), "later", or "" (none or over)
    video_opens_at: datetime | None = None

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)


@dataclass(frozen=True)
class Heading:
    """A line between rows: a day (several days shown), a clinic (several clinics shown), or "now"."""

    kind: str  # day, clinic, now
    text: str
    at: datetime | None = None
    zone: str = ""


def _message_step(message: Message, rule_name: str) -> Step:
    call = message.channel == "voice"
    noun = "Call" if call else "Text"
    if message.status in REACHED:
        return Step("delivered", "Call answered" if call else "Text delivered", message.created_at, rule=rule_name)
    if message.status in UNREACHED:
        why = f"{message.error_code}: " if message.error_code else ""
        detail = f"{why}{message.error_message or message.status}"
        return Step("failed", f"{noun} not delivered", message.created_at, detail, rule_name)
    return Step("sent", f"{noun} sent", message.created_at, rule=rule_name)


def _reminder_step(reminder: Reminder, rule_name: str, sent: Message | None) -> Step:
    noun = "Call" if reminder.channel == "voice" else "Text"
    status = reminder.status
    if status == ReminderStatus.SENT and sent is not None:
        return _message_step(sent, rule_name)
    if status == ReminderStatus.PLANNED and (reminder.reason or "").startswith(WAITING_FOR_REGISTRATION):
        return Step("waiting", f"{noun} waiting", reminder.due_at, reminder.reason or "", rule_name)
    if status == ReminderStatus.PLANNED:
        return Step("planned", f"{noun} planned", reminder.due_at, rule=rule_name)
    if status in (ReminderStatus.SENDING, ReminderStatus.SENT):
        label = f"{noun} sending" if status == ReminderStatus.SENDING else f"{noun} sent"
        return Step("sent", label, None, rule=rule_name)
    if status == ReminderStatus.FAILED:
        return Step("failed", f"{noun} failed", reminder.updated_at, reminder.reason or "", rule_name)
    return Step("skipped", f"{noun} {status}", None, reminder.reason or "", rule_name)


def _video(appointment: Appointment, now: datetime, policy: VideoPolicy) -> tuple[str, datetime | None]:
    """Where a video visit's window stands: the provider may start it from `room_lead` before the start (when the
    patient may join too) until it closes."""
    if appointment.kind != "telehealth" or appointment.status not in (*ACTIVE_STATUSES, "reschedule-requested"):
        return "", None
    opens = appointment.starts_at - policy.room_lead
    if now >= visit_closes_at(appointment, policy):
        return "", None
    return ("open" if now >= opens else "later"), opens


def build_rows(
    appointments: Sequence[Appointment],
    reminders: Sequence[Reminder],
    messages: Sequence[Message],
    rule_names: Mapping[int, str],
    clinics: Mapping[int, Clinic],
) -> list[Row]:
    now = utcnow()
    policy = VideoPolicy()
    by_appt: dict[int, list[Reminder]] = defaultdict(list)
    for reminder in reminders:
        by_appt[reminder.appointment_id].append(reminder)
    sent_by_reminder: dict[int, Message] = {}
    loose: dict[int, list[Message]] = defaultdict(list)  # answers and staff texts
    for message in sorted(messages, key=lambda m: (m.created_at, m.id)):
        if message.reminder_id is not None and message.direction == Direction.OUTBOUND:
            sent_by_reminder[message.reminder_id] = message
        elif message.appointment_id is not None:
            loose[message.appointment_id].append(message)
    rows = []
    for appt in appointments:
        own = sorted(by_appt[appt.id], key=lambda r: r.due_at)
        steps = [_reminder_step(r, rule_names.get(r.rule_id, ""), sent_by_reminder.get(r.id)) for r in own]
        reached = any(step.kind in ("sent", "delivered") for step in steps)
        answered = False
        for message in loose[appt.id]:
            if message.direction == Direction.INBOUND:
                answered = True
                meaning = ANSWERS.get(message.interpretation or "unknown", message.interpretation or "")
                steps.append(Step("answered", f"Answered: {meaning}", message.created_at))
            elif message.sent_by_user_id is not None:  # "Send reminder now"
                step = _message_step(message, "a reminder sent now by staff")
                step.detail = step.detail or "sent by staff"
                reached = reached or step.kind in ("sent", "delivered")
                steps.append(step)
            else:
                steps.append(_message_step(message, "our answer to the patient"))
        state = str(appt.status)
        if state == AppointmentStatus.SCHEDULED and reached and not answered:
            state = "no-answer"
        clinic = clinics.get(appt.clinic_id)
        video, opens = _video(appt, now, policy)
        rows.append(
            Row(
                appointment=appt,
                zone=clinic.timezone if clinic else "UTC",
                clinic_name=clinic.name if clinic else "",
                state=state,
                steps=steps,
                can_remind=appt.status in ACTIVE_STATUSES and appt.starts_at > now,
                started=appt.starts_at <= now,
                video=video,
                video_opens_at=opens,
            )
        )
    return rows


def layout(rows: Sequence[Row], f: Filters, several_clinics: bool, now: datetime | None = None) -> list[Row | Heading]:
    """The rows with their headings: the day when several days are shown, the clinic when several clinics are,
    and a "now" line in each clinic's today, before its first appointment still to come."""
    now = now or utcnow()
    lines: list[Row | Heading] = []
    shown_day = None
    by_day_and_clinic = groupby(
        rows, key=lambda r: (display(r.appointment.starts_at, r.zone, "iso-date"), r.clinic_name)
    )
    for (day, clinic_name), grouped in by_day_and_clinic:
        group = list(grouped)
        zone = group[0].zone
        if f.days > 1 and day != shown_day:
            lines.append(Heading("day", display(group[0].appointment.starts_at, zone, "day")))
            shown_day = day
        if several_clinics:
            lines.append(Heading("clinic", clinic_name, zone=zone))
        ahead = next((i for i, r in enumerate(group) if r.appointment.starts_at > now), len(group))
        lines.extend(group[:ahead])
        if day == display(now, zone, "iso-date"):
            lines.append(Heading("now", "Now", now, zone))
        lines.extend(group[ahead:])
    return lines


def load_rows(db: Session, office_id: int, ids: Sequence[int], clinics: Mapping[int, Clinic]) -> list[Row]:
    """The rows of these appointments, in the order of `ids`."""
    if not ids:
        return []
    stmt = (
        select(Appointment)
        .where(Appointment.id.in_(ids), Appointment.office_id == office_id)
        .options(joinedload(Appointment.patient).selectinload(Patient.phones), joinedload(Appointment.provider))
    )
    position = {appointment_id: i for i, appointment_id in enumerate(ids)}
    appointments = sorted(db.scalars(stmt).unique(), key=lambda a: position[a.id])
    reminders = list(db.scalars(select(Reminder).where(Reminder.appointment_id.in_(ids))))
    messages = list(db.scalars(select(Message).where(Message.appointment_id.in_(ids))))
    names = select(ReminderRule.id, ReminderRule.name).where(ReminderRule.office_id == office_id)
    rules = {rule_id: name for rule_id, name in db.execute(names)}
    return build_rows(appointments, reminders, messages, rules, clinics)


def local_order(clinics: Sequence[Clinic], f: Filters) -> list[ColumnElement[Any]]:
    """By day (on each clinic's clock), then clinic (in the order given), then start."""
    order: list[ColumnElement[Any]] = [Appointment.starts_at.asc(), Appointment.id.asc()]
    if not clinics:
        return order
    order.insert(0, case({c.id: i for i, c in enumerate(clinics)}, value=Appointment.clinic_id, else_=len(clinics)))
    if f.days == 1:
        return order
    ends = [
        (
            and_(
                Appointment.clinic_id == c.id,
                Appointment.starts_at < local_datetime(f.day + timedelta(days=n + 1), time(0), ZoneInfo(c.timezone)),
            ),
            n,
        )
        for c in clinics
        for n in range(f.days)
    ]
    return [case(*ends, else_=f.days), *order]


def page_ids(db: Session, stmt: Select[Any], page: int, order: Sequence[ColumnElement[Any]]) -> list[int]:
    ordered = stmt.order_by(*order)
    return list(db.scalars(ordered.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))


def count(db: Session, stmt: Select[Any]) -> int:
    return db.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def changed_ids(db: Session, office_id: int, ids: Sequence[int], since: datetime) -> list[int]:
    """Which of these appointments changed (or whose reminders or messages did) after `since`."""
    if not ids:
        return []
    stmt: CompoundSelect[Any] = union(
        select(Appointment.id).where(
            Appointment.id.in_(ids), Appointment.office_id == office_id, Appointment.updated_at > since
        ),
        select(Reminder.appointment_id).where(
            Reminder.appointment_id.in_(ids), Reminder.office_id == office_id, Reminder.updated_at > since
        ),
        select(Message.appointment_id).where(
            Message.appointment_id.in_(ids), Message.office_id == office_id, Message.updated_at > since
        ),
    )
    return sorted({int(i) for i in db.scalars(stmt) if i is not None})
