"""What recent sends say about the set-up: Twilio error codes that mean the account or a sending number is set
up wrongly, and carriers filtering our texts (TWILIO.md: "configuration error: stop, tell the doctor", "alert
staff"). The dispatcher makes reminders refused for the set-up wait (dispatcher/outcomes.py); this check says
why and what to do. It counts per code and never names a patient, a phone number or a text.

Which codes, what they mean and what fixes them is the error table's (gateways/errors.py, `Advice`). A failure
counts for 24 h, except once it is known to be over: an error of the sending number (scope NUMBER) is over when
that number sent successfully afterwards or is no longer one we send from; an error about one recipient (PATIENT)
is over when a later send to that recipient went through.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import InstrumentedAttribute, Session

from ..dispatcher.outcomes import SETUP_WAIT_LONGEST, WAITING_FOR_SETUP
from ..gateways.errors import ADVICE, Advice, Scope
from ..messaging.delivery import TAKEN
from ..models import Channel, Clinic, Direction, Message, Reminder, ReminderStatus
from .checks import CheckList, Outcome, failed, ok, warning
from .context import DoctorContext

checks = CheckList()

CHECK_ID = "twilio.delivery_errors"
WINDOW = timedelta(hours=24)
UPGRADE_FIX = "run `reminders db upgrade` (with the same REMINDERS_DATABASE_URL)"  # as service.UPGRADE_FIX


# The codes that need a person, with what to say (gateways/errors.py): a set-up problem keeps reminders from going
# out until someone fixes it (the check fails); carriers judging the texts is for staff to look at (it warns).
SETUP_ERRORS: dict[int, Advice] = {code: a for code, a in ADVICE.items() if a.scope is not Scope.MESSAGE}
FILTERING: dict[int, Advice] = {code: a for code, a in ADVICE.items() if a.scope is Scope.MESSAGE}


@dataclass(frozen=True)
class Findings:
    """The failures of the window that still count, by code; and the reminders waiting for the set-up."""

    counts: Counter[int] = field(default_factory=Counter)
    latest: dict[int, datetime] = field(default_factory=dict)
    waiting: int = 0

    def of(self, codes: Iterable[int]) -> Counter[int]:
        wanted = set(codes)
        return Counter({code: n for code, n in self.counts.items() if code in wanted and n})

    @property
    def setup(self) -> Counter[int]:
        return self.of(SETUP_ERRORS)

    @property
    def filtered(self) -> Counter[int]:
        return self.of(FILTERING)


def find(db: Session, office_id: int | None, now: datetime, senders: dict[str, set[str]]) -> Findings:
    """`senders`: the numbers in use now, by channel (a number no longer used has no sender problem now)."""
    since = now - WINDOW

    def outbound(condition: ColumnElement[bool]) -> list[ColumnElement[bool]]:
        where = [Message.direction == Direction.OUTBOUND, Message.created_at >= since, condition]
        if office_id is not None:
            where.append(Message.office_id == office_id)
        return where

    failures = select(
        Message.error_code, Message.channel, Message.from_number, Message.to_number, Message.created_at
    ).where(*outbound(Message.error_code.in_(list(ADVICE))))
    rows = [
        (code, channel, sender, recipient, at)
        for code, channel, sender, recipient, at in db.execute(failures)
        if code is not None
    ]
    scopes = {ADVICE[row[0]].scope for row in rows}
    went_through = outbound(Message.status.in_(TAKEN))
    from_ok = _latest(db, Message.from_number, went_through) if Scope.NUMBER in scopes else {}
    to_ok = _latest(db, Message.to_number, went_through) if Scope.PATIENT in scopes else {}
    counts: Counter[int] = Counter()
    latest: dict[int, datetime] = {}
    for code, channel, sender, recipient, at in rows:
        scope = ADVICE[code].scope
        if scope is Scope.NUMBER and (
            sender not in senders.get(channel, set()) or from_ok.get((channel, sender), at) > at
        ):
            continue  # that number is no longer used, or sent successfully since
        if scope is Scope.PATIENT and to_ok.get((channel, recipient), at) > at:
            continue  # a later send to the same recipient went through
        counts[code] += 1
        latest[code] = max(at, latest.get(code, at))
    waiting = (
        select(func.count())
        .select_from(Reminder)
        .where(
            Reminder.status == ReminderStatus.PLANNED,
            Reminder.reason.startswith(WAITING_FOR_SETUP, autoescape=True),
        )
    )
    if office_id is not None:
        waiting = waiting.where(Reminder.office_id == office_id)
    return Findings(counts, latest, db.scalar(waiting) or 0)


def _latest(
    db: Session, number: InstrumentedAttribute[str], where: list[ColumnElement[bool]]
) -> dict[tuple[str, str], datetime]:
    """When a send last went through, by channel and the number in `number` (sender or recipient)."""
    query = (
        select(Message.channel, number, func.max(Message.created_at)).where(*where).group_by(Message.channel, number)
    )
    return {(channel, value): at for channel, value, at in db.execute(query)}


def senders_in_use(db: Session, office_id: int | None, default_number: str | None) -> dict[str, set[str]]:
    """The numbers texts go from (each clinic's Twilio number, else the office's) and calls show (clinic phones)."""
    query = select(Clinic.twilio_number, Clinic.phone)
    if office_id is not None:
        query = query.where(Clinic.office_id == office_id)
    sms: set[str] = {default_number} if default_number else set()  # staff texts, clinics without their own
    voice: set[str] = set()
    for twilio_number, phone in db.execute(query):
        if twilio_number:
            sms.add(twilio_number)
        if phone:
            voice.add(phone)
    return {Channel.SMS.value: sms, Channel.VOICE.value: voice}


def recent(ctx: DoctorContext) -> Findings:
    """The findings for the doctor's office (raises SQLAlchemyError when the tables cannot be read)."""
    assert ctx.sessions is not None
    office_id = ctx.office.id
    with ctx.sessions() as db:
        senders = senders_in_use(db, office_id, ctx.twilio.phone_number)
        return find(db, office_id, ctx.now, senders)


def describe(counts: Counter[int]) -> str:
    """The counts as Twilio's alerts check shows them (code, multiplication sign, count), most frequent first."""
    return ", ".join(f"{code} ×{n}" for code, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def meanings(counts: Counter[int]) -> str:
    return "; ".join(f"{code}: {ADVICE[code].meaning}" for code in sorted(counts, key=lambda c: (-counts[c], c)))


def _fixes(counts: Counter[int]) -> str:
    return "; ".join(f"{code}: {ADVICE[code].fix}" for code in sorted(counts, key=lambda c: (-counts[c], c)))


def judge(found: Findings) -> Outcome:
    """Failed for a configuration error, a warning for carrier filtering, else ok."""
    setup, filtered = found.setup, found.filtered
    hours = int(SETUP_WAIT_LONGEST.total_seconds() // 3600)
    if setup:
        latest = max(found.latest[code] for code in setup)
        explanation = (
            f"{sum(setup.values())} send(s) in the last 24 h failed because of the set-up ({describe(setup)}), "
            f"latest {latest:%Y-%m-%d %H:%M} UTC: {meanings(setup)}"
        )
        if found.waiting:
            explanation += f"; {found.waiting} reminder(s) wait for the fix (tried again at least every {hours} h)"
        if filtered:
            explanation += f"; carriers also filtered {sum(filtered.values())} text(s) ({describe(filtered)})"
        return failed(explanation, _fixes(setup + filtered))
    if filtered:
        latest = max(found.latest[code] for code in filtered)
        return warning(
            f"{sum(filtered.values())} text(s) in the last 24 h were not delivered ({describe(filtered)}), latest "
            f"{latest:%Y-%m-%d %H:%M} UTC: {meanings(filtered)}",
            _fixes(filtered),
        )
    if found.waiting:
        return ok(
            f"no set-up error is current; {found.waiting} reminder(s) held back by an earlier one are tried "
            f"again within {hours} h"
        )
    return ok("no set-up error or carrier filtering in the sends of the last 24 h")


@checks.add(CHECK_ID, "Recent sends show no set-up error or carrier filtering", depends_on=("database.connect",))
def delivery_errors(ctx: DoctorContext) -> Outcome:
    try:
        found = recent(ctx)
    except SQLAlchemyError:
        return failed("the messages table cannot be read", UPGRADE_FIX)
    return judge(found)
