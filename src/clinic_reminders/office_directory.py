"""Which office a Twilio webhook is for: found by its `AccountSid` and its numbers (`To`, else `From`), with the
configuration in force whose auth token must have signed it.

Each office has its own Twilio account (or subaccount). Offices that share one account are told apart by their
numbers: the office's own and its clinics'. A number that belongs to an office of another account is refused, so a
webhook signed with office A's token never acts for office B's number. A deployment with one office finds it for
every webhook, as before there were many.

`Directory.load` reads every office once; `stamp` is the cheap question whether any office or clinic changed since
(rows counted and their latest `updated_at`), so that each web process reloads when it changed (web/webhooks/signed.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import accounts
from .effective import TwilioConfig, twilio_config
from .models import Clinic, Office
from .settings import Settings

Stamp = tuple[int, datetime | None, int, datetime | None]

_STAMP = select(
    select(func.count(Office.id)).scalar_subquery(),
    select(func.max(Office.updated_at)).scalar_subquery(),
    select(func.count(Clinic.id)).scalar_subquery(),
    select(func.max(Clinic.updated_at)).scalar_subquery(),
)


@dataclass(frozen=True, eq=False)
class Tenant:
    office_id: int
    config: TwilioConfig
    suspended: bool


@dataclass
class Directory:
    tenants: list[Tenant] = field(default_factory=list)
    by_account: dict[str, list[Tenant]] = field(default_factory=dict)
    by_number: dict[str, Tenant] = field(default_factory=dict)

    @classmethod
    def load(cls, db: Session, settings: Settings) -> Directory:
        """Every office, suspended ones included (their numbers stay theirs). An office whose stored secret cannot
        be decrypted has no auth token here: its webhooks are refused, the others' are not."""
        offices = list(db.scalars(select(Office).order_by(Office.id))) or [accounts.the_office(db)]
        numbers = db.execute(
            select(Clinic.office_id, Clinic.twilio_number).where(
                Clinic.twilio_number.is_not(None), Clinic.active.is_(True)
            )
        ).all()
        directory = cls()
        by_id: dict[int, Tenant] = {}
        for office in offices:
            config = twilio_config(settings, office, lenient=True)
            tenant = by_id[office.id] = Tenant(office.id, config, office.suspended_at is not None)
            directory.tenants.append(tenant)
            if config.account_sid:
                directory.by_account.setdefault(config.account_sid, []).append(tenant)
            if config.phone_number:
                directory.by_number.setdefault(config.phone_number, tenant)
        for office_id, number in numbers:
            directory.by_number.setdefault(str(number), by_id[office_id])
        return directory

    def find(self, account_sid: str, numbers: Iterable[str]) -> Tenant | None:
        """The office of a webhook from `account_sid` about `numbers` (To first: ours on an inbound text or call,
        the patient's on a status callback, whose From is ours); None when no office can be told."""
        if len(self.tenants) == 1:
            return self.tenants[0]
        candidates = self.by_account.get(account_sid, [])
        for number in numbers:
            owner = self.by_number.get(number)
            if owner is not None:
                return owner if owner in candidates else None
        return candidates[0] if len(candidates) == 1 else None


def stamp(db: Session) -> Stamp:
    """Changes when an office or a clinic is added, removed or saved."""
    row = db.execute(_STAMP).one()
    return (int(row[0]), row[1], int(row[2]), row[3])
