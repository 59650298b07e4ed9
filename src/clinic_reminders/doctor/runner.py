"""Runs the checks in dependency order and returns a JSON-able report.

A check whose dependency failed (or was skipped) is skipped, not run: a wrong auth token yields one clear
failure, not ten confusing ones. A check that raises is reported as failed; the doctor itself never crashes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..effective import NotConfigured
from ..gateways import TwilioError
from . import deliveries, registration, server, service, twilio
from .checks import Check, CheckResult, Outcome, Status, failed
from .context import DoctorContext

log = logging.getLogger(__name__)

ALL_CHECKS: list[Check] = [*service.checks, *server.checks, *twilio.checks, *registration.checks, *deliveries.checks]


@dataclass(frozen=True)
class Report:
    results: list[CheckResult]
    generated_at: datetime

    @property
    def ok(self) -> bool:
        """True when nothing failed (warnings and skipped checks allowed)."""
        return not any(r.status is Status.FAILED for r in self.results)

    @property
    def counts(self) -> dict[str, int]:
        return {s.value: sum(1 for r in self.results if r.status is s) for s in Status}

    def result(self, check_id: str) -> CheckResult:
        return next(r for r in self.results if r.id == check_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "generated_at": self.generated_at.isoformat(),
            "counts": self.counts,
            "checks": [r.to_dict() for r in self.results],
        }


def in_dependency_order(checks: Iterable[Check]) -> list[Check]:
    """The given order, except that a check always comes after the checks it depends on."""
    pending = list(checks)
    known = {c.id for c in pending}
    for check in pending:
        unknown = [d for d in check.depends_on if d not in known]
        if unknown:
            raise ValueError(f"check {check.id} depends on unknown check(s) {unknown}")
    done: set[str] = set()
    ordered: list[Check] = []
    while pending:
        ready = next((c for c in pending if all(d in done for d in c.depends_on)), None)
        if ready is None:
            raise ValueError(f"checks depend on each other in a cycle: {[c.id for c in pending]}")
        pending.remove(ready)
        ordered.append(ready)
        done.add(ready.id)
    return ordered


def _run_one(check: Check, ctx: DoctorContext) -> Outcome:
    try:
        return check.run(ctx)
    except TwilioError as exc:
        return failed(f"Twilio error: {exc}", "run the doctor again; if it persists see status.twilio.com")
    except NotConfigured as exc:
        return failed(str(exc), "configure Twilio on the set-up page or run `reminders setup twilio`")
    except Exception as exc:  # a broken check must not hide the others
        log.warning("doctor check %s could not run: %s", check.id, type(exc).__name__, exc_info=True)
        return failed(
            f"the check could not run ({type(exc).__name__})", "run the doctor again; report it if it persists"
        )


def run_doctor(ctx: DoctorContext, checks: Iterable[Check] | None = None) -> Report:
    results: dict[str, CheckResult] = {}
    for check in in_dependency_order(ALL_CHECKS if checks is None else checks):
        blocked = [d for d in check.depends_on if results[d].status in (Status.FAILED, Status.SKIPPED)]
        if blocked:
            outcome = Outcome(Status.SKIPPED, f"not checked: {results[blocked[0]].title} did not pass")
        else:
            outcome = _run_one(check, ctx)
        results[check.id] = CheckResult(
            check.id, check.title, outcome.status, outcome.explanation, outcome.fix, check.depends_on
        )
    return Report(list(results.values()), ctx.now)
