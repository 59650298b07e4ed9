"""Who a broadcast reaches: the visits at the clinic on its days that still hold their time, their patients, and
which of them may be texted (consent, no opt-out, a number that takes texts, a sender that may send). The preview
shows these counts and the cost before anything is sent; `confirm` acts on the same answer."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .. import booking, refusals
from ..dispatcher import outreach  # who may be texted: the dispatcher's own rules, said once
from ..effective import TwilioConfig
from ..messaging.segments import count_segments, estimate_cost
from ..models import Appointment, Clinic, Office, Patient
from ..refusals import Refused
from ..scheduling.timing import local_datetime
from . import texts as wording

MAX_DAYS = 31


@dataclass(frozen=True)
class Ask:
    """What staff ask for: the clinic, its days (on its own calendar) and the words by language."""

    clinic_id: int
    first_day: date
    last_day: date
    texts: Mapping[str, str]


@dataclass(frozen=True)
class Reach:
    """A patient who may be texted (`body`, `segments`), or why not (`reason`, words for staff)."""

    patient: Patient
    body: str = ""
    segments: int = 0
    reason: str | None = None


@dataclass
class Affected:
    clinic: Clinic
    texts: dict[str, str]
    visits: list[Appointment] = field(default_factory=list)
    patients: list[Reach] = field(default_factory=list)

    @property
    def to_text(self) -> list[Reach]:
        return [p for p in self.patients if p.reason is None]

    @property
    def not_texted(self) -> list[Reach]:
        return [p for p in self.patients if p.reason is not None]

    @property
    def segments(self) -> int:
        return sum(p.segments for p in self.to_text)


def find(db: Session, office: Office, config: TwilioConfig, ask: Ask, now: datetime) -> Affected:
    """Refuses a clinic of another office, days in the past, backwards or longer than `MAX_DAYS`, missing words."""
    clinic = refusals.referenced(db, Clinic, ask.clinic_id, office.id, "clinic_id", "clinic")
    zone = ZoneInfo(clinic.timezone)
    if ask.last_day < ask.first_day:
        raise Refused("last_day", "must be on or after the first day")
    if (ask.last_day - ask.first_day).days >= MAX_DAYS:
        raise Refused("last_day", f"a broadcast covers at most {MAX_DAYS} days")
    if ask.last_day < now.astimezone(zone).date():
        raise Refused("last_day", "those days are over")
    found = Affected(clinic, wording.checked(ask.texts))
    starts = max(local_datetime(ask.first_day, time(0), zone), now)
    ends = local_datetime(ask.last_day + timedelta(days=1), time(0), zone)
    found.visits = list(
        db.scalars(
            select(Appointment)
            .where(
                Appointment.office_id == office.id,
                Appointment.clinic_id == clinic.id,
                Appointment.status.in_(booking.HOLDS_ITS_TIME),
                Appointment.starts_at >= starts,
                Appointment.starts_at < ends,
            )
            .options(selectinload(Appointment.patient).selectinload(Patient.phones))
            .order_by(Appointment.starts_at, Appointment.id)
        )
    )
    sender = outreach.sender(db, office, config, clinic)
    seen: set[int] = set()
    for visit in found.visits:
        patient = visit.patient
        if patient.id in seen:
            continue
        seen.add(patient.id)
        reach = outreach.reachable(patient, sender) if isinstance(sender, outreach.Sender) else sender
        if isinstance(reach, str):
            found.patients.append(Reach(patient, reason=reach))
            continue
        text = wording.body(found.texts, patient.language, clinic.name)
        found.patients.append(Reach(patient, text, count_segments(text).segments))
    return found


@dataclass(frozen=True)
class Preview:
    visits: int
    patients: int
    to_text: int
    not_texted: int
    segments: int
    cost: Decimal
    bodies: dict[str, str]  # each language's text as patients read it
    reasons: dict[str, int]  # why patients are not texted, and how many for each (staff call them)
    token: str  # the confirmation's: a second submit of it finds the first broadcast


def preview(db: Session, office: Office, config: TwilioConfig, ask: Ask, now: datetime) -> Preview:
    found = find(db, office, config, ask, now)
    return Preview(
        visits=len(found.visits),
        patients=len(found.patients),
        to_text=len(found.to_text),
        not_texted=len(found.not_texted),
        segments=found.segments,
        cost=estimate_cost(found.segments, office.sms_price_per_segment),
        bodies={lang: wording.body(found.texts, lang, found.clinic.name) for lang in found.texts},
        reasons=dict(Counter(p.reason for p in found.not_texted if p.reason is not None)),
        token=secrets.token_urlsafe(16),
    )
