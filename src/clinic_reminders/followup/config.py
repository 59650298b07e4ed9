"""An office's no-show follow-up and recall settings (one row per office) and its recall intervals.

The row is made the first time an admin saves the settings, and the outbox is read from that moment on: no-shows
from before it get no follow-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import audit
from ..messaging.compose import LANGUAGES
from ..models import AppointmentKind, Event, FollowupSettings, Office, RecallInterval
from ..refusals import Refused
from . import texts

LIMITS = {
    "noshow_delay_minutes": (0, 7 * 24 * 60),
    "recall_texts": (1, 10),
    "recall_spacing_days": (1, 180),
}
MONTHS = (1, 120)
DEFAULT = FollowupSettings(
    noshow_enabled=False,
    noshow_delay_minutes=120,
    recall_enabled=False,
    recall_texts=3,
    recall_spacing_days=14,
    noshow_templates={},
    recall_templates={},
)


def current(db: Session, office: Office) -> FollowupSettings:
    """The saved settings, or the defaults (not saved) before any."""
    return db.get(FollowupSettings, office.id) or DEFAULT


def settings_of(db: Session, office: Office) -> FollowupSettings:
    row = db.get(FollowupSettings, office.id)
    if row is None:
        start = db.scalar(select(func.max(Event.id)).where(Event.office_id == office.id)) or 0
        values = {c: getattr(DEFAULT, c) for c in (*LIMITS, "noshow_enabled", "recall_enabled")}
        row = FollowupSettings(
            office_id=office.id,
            noshow_templates={},
            recall_templates={},
            events_from=start,
            event_cursor=start,
            **values,
        )
        db.add(row)
        db.flush()
    return row


@dataclass(frozen=True)
class Change:
    noshow_enabled: bool
    noshow_delay_minutes: int
    recall_enabled: bool
    recall_texts: int
    recall_spacing_days: int
    # By language; an empty text means the default. Languages not given keep what is saved.
    noshow_templates: dict[str, str] = field(default_factory=dict)
    recall_templates: dict[str, str] = field(default_factory=dict)


def _templates(name: str, saved: dict[str, str], given: dict[str, str]) -> dict[str, str]:
    merged = dict(saved)
    for lang, source in given.items():
        if lang not in LANGUAGES:
            raise Refused(name, f"no such language: {lang} (use {', '.join(LANGUAGES)})")
        if not source.strip():
            merged.pop(lang, None)
        elif found := texts.problems(source):
            raise Refused(f"{name}.{lang}", " ".join(found))
        else:
            merged[lang] = source.strip()
    return merged


def change(db: Session, office: Office, new: Change, actor: str) -> FollowupSettings:
    for name, (low, high) in LIMITS.items():
        if not low <= getattr(new, name) <= high:
            raise Refused(name, f"must be from {low} to {high}")
    row = settings_of(db, office)
    values = {
        **{k: v for k, v in vars(new).items() if not k.endswith("_templates")},
        "noshow_templates": _templates("noshow_templates", row.noshow_templates, new.noshow_templates),
        "recall_templates": _templates("recall_templates", row.recall_templates, new.recall_templates),
    }
    changed = {k: v for k, v in values.items() if getattr(row, k) != v}
    for name, value in changed.items():
        setattr(row, name, value)
    if changed:
        audit.record(db, office.id, actor, "followup_settings", "office", office.id, fields=sorted(changed))
    return row


def intervals(db: Session, office_id: int) -> list[RecallInterval]:
    return list(
        db.scalars(select(RecallInterval).where(RecallInterval.office_id == office_id).order_by(RecallInterval.name))
    )


def add_interval(
    db: Session, office: Office, name: str, months: int, matches: str, kind: str | None, actor: str
) -> RecallInterval:
    """ "Check-up: 12 months": completed visits whose reason contains `matches` (any when empty)."""
    name, matches = name.strip(), matches.strip()
    if not name or len(name) > 60:
        raise Refused("name", "give a name of at most 60 characters, e.g. Check-up")
    if len(matches) > 100:
        raise Refused("matches", "at most 100 characters")
    if not MONTHS[0] <= months <= MONTHS[1]:
        raise Refused("months", f"must be from {MONTHS[0]} to {MONTHS[1]}")
    if kind is not None and kind not in set(AppointmentKind):
        raise Refused("kind", "use in-person or telehealth, or leave it empty for either")
    taken = select(RecallInterval.id).where(RecallInterval.office_id == office.id, RecallInterval.name == name)
    if db.scalar(taken) is not None:
        raise Refused("name", "an interval of this name exists already")
    interval = RecallInterval(office_id=office.id, name=name, months=months, matches=matches, kind=kind)
    db.add(interval)
    db.flush()
    audit.record(db, office.id, actor, "recall_interval_added", "recall_interval", interval.id, months=months)
    return interval


def remove_interval(db: Session, office: Office, interval: RecallInterval, actor: str) -> None:
    """Series it started go on (they keep their due date); no new ones are made from it."""
    audit.record(db, office.id, actor, "recall_interval_removed", "recall_interval", interval.id)
    db.delete(interval)
