"""The doctor's vocabulary: a check (stable id, title, the checks it needs) and its outcome.

Ids such as `twilio.number.sms_url` are a contract: the set-up page, support and tests key on them; titles and
texts may change. Texts never hold patient data: checks look at the office's configuration, its clinics and its
Twilio account, never at patients.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .context import DoctorContext


class Status(enum.StrEnum):
    OK = "ok"
    WARNING = "warning"  # works today, needs attention soon (certificate expiring, balance low)
    FAILED = "failed"  # reminders or answers will not work until this is fixed
    SKIPPED = "skipped"  # not run: a check it needs failed, or it does not apply here


@dataclass(frozen=True, slots=True)
class Outcome:
    status: Status
    explanation: str  # one line: what was found
    fix: str = ""  # one line: what to do about it (empty when nothing is to be done)


def ok(explanation: str) -> Outcome:
    return Outcome(Status.OK, explanation)


def warning(explanation: str, fix: str) -> Outcome:
    return Outcome(Status.WARNING, explanation, fix)


def failed(explanation: str, fix: str) -> Outcome:
    return Outcome(Status.FAILED, explanation, fix)


def not_applicable(explanation: str) -> Outcome:
    return Outcome(Status.SKIPPED, explanation)


CheckFunction = Callable[["DoctorContext"], Outcome]


@dataclass(frozen=True, slots=True)
class Check:
    id: str
    title: str
    run: CheckFunction
    depends_on: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CheckResult:
    id: str
    title: str
    status: Status
    explanation: str
    fix: str = ""
    depends_on: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status.value,
            "explanation": self.explanation,
            "fix": self.fix,
            "depends_on": list(self.depends_on),
        }


class CheckList(list[Check]):
    """An ordered list of checks that modules fill with the `@checks.add(...)` decorator."""

    def add(self, check_id: str, title: str, *, depends_on: tuple[str, ...] = ()) -> Callable[[CheckFunction], Check]:
        def register(function: CheckFunction) -> Check:
            check = Check(check_id, title, function, depends_on)
            self.append(check)
            return check

        return register


@dataclass(frozen=True)
class Banner:
    """What the running service's watch shows at the top of every staff page (doctor/alerts.py)."""

    id: str  # balance.low/empty, certificate.expiring/expired, registration.waiting, delivery.setup/filtered,
    # writeback.paused.<destination id>
    level: str  # warning | danger
    text: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "level": self.level, "text": self.text}
