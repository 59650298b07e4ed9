"""The set-up checklist page (admins): the set-up doctor's checks run live, each with its result, what it found
and how to fix it, grouped as the seed's checklist is, with a "Check again" button.

The checks are `reminders doctor`'s own, run here with the web server's settings (what it is really using);
`reminders doctor` on the command line reads its own environment, which the page says when they differ.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup, escape

from ...doctor.checks import CheckResult, Status
from ...doctor.context import DoctorContext
from ...doctor.runner import Report, run_doctor
from ..deps import DbDep, SettingsDep
from .auth import AdminPage
from .rendering import local, render, templates
from .zones import office_zone

router = APIRouter(include_in_schema=False)

GROUPS = (  # (id prefixes, heading), in the seed's order; a check goes in the first group that names its prefix
    (("settings.secret_key", "database.", "dispatcher."), "This server"),
    (("settings.public_url", "server."), "Where Twilio reaches this server"),
    (("settings.twilio", "twilio.credentials", "twilio.account", "twilio.balance"), "Twilio account"),
    (("twilio.number", "twilio.webhook", "twilio.alerts"), "The phone number and its webhooks"),
    (("twilio.caller_ids",), "Clinic phones as caller IDs"),
    (("twilio.api_key", "twilio.video"), "Video visits"),
    (("twilio.", "settings.alerts"), "Sending and alerts"),
)
FIX_PAGES = {  # where on the pages a person fixes what a check found
    "settings.public_url": "/config#f-public_host",
    "settings.twilio_account": "/config#f-twilio_account_sid",
    "settings.twilio_number": "/config#f-twilio_phone_number",
    "settings.alerts": "/config#alerts",
    "twilio.api_key": "/config#f-twilio_api_key",
    "twilio.caller_ids": "/clinics",
    "twilio.delivery_errors": "/config/registration",
}
LABELS = {Status.OK: "pass", Status.WARNING: "warn", Status.FAILED: "fail", Status.SKIPPED: "skipped"}
_CODE = re.compile(r"`([^`]+)`")


def code_spans(text: str) -> Markup:
    """Text as HTML with `backticks` as <code>: the doctor writes commands and names that way."""
    return Markup(_CODE.sub(lambda m: f"<code>{m.group(1)}</code>", str(escape(text))))  # noqa: S704  (escaped)


templates.env.filters["code_spans"] = code_spans


@dataclass
class Group:
    title: str
    results: list[CheckResult] = field(default_factory=list)

    @property
    def worst(self) -> Status:
        for status in (Status.FAILED, Status.WARNING, Status.OK):
            if any(r.status is status for r in self.results):
                return status
        return Status.SKIPPED


def grouped(report: Report) -> list[Group]:
    groups = [Group(title) for _, title in GROUPS]
    for result in report.results:
        index = next((i for i, (prefixes, _) in enumerate(GROUPS) if result.id.startswith(prefixes)), len(GROUPS) - 1)
        groups[index].results.append(result)
    return [g for g in groups if g.results]


@router.get("/setup", response_class=HTMLResponse)
def setup_page(request: Request, db: DbDep, user: AdminPage, settings: SettingsDep) -> Response:
    """A plain `def`: the checks wait for Twilio and the certificate in the threadpool, never on the event loop."""
    report = run_doctor(DoctorContext(settings, request.app.state.sessions, office_id=user.office_id))
    context = {
        "title": "Set-up checklist",
        "section": "setup",
        "report": report,
        "groups": grouped(report),
        "labels": LABELS,
        "fix_pages": FIX_PAGES,
        "checked_at": local(report.generated_at, office_zone(db, user.office_id), "time"),
        "demo": settings.demo,
    }
    return render(request, "setup.html", context, user=user, db=db)
