"""No-show follow-ups and recall on the configuration page (admins): the office's settings and texts, and its
recall intervals. Saved by `followup.config`; the configuration page includes this module's section
(`config_context`), the dashboard its counts (`followup.views`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from ...followup import config
from ...followup.texts import DEFAULTS, Kind
from ...messaging.compose import LANGUAGES
from ...models import Office, RecallInterval
from ...refusals import Refused
from ..deps import DbDep, audit_actor
from .auth import AdminPage
from .csrf import check_csrf
from .forms import checkbox, form_fields
from .rendering import flash

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

BACK = "/config#followups"


def config_context(db: Session, office: Office) -> dict[str, Any]:
    """The configuration page's section: the saved settings (or the defaults), the intervals, the default texts."""
    return {
        "followup_settings": config.current(db, office),
        "recall_intervals": config.intervals(db, office.id),
        "followup_languages": LANGUAGES,
        "followup_defaults": {kind: {lang: DEFAULTS[kind][lang][0] for lang in LANGUAGES} for kind in Kind},
    }


def _office(db: Session, office_id: int) -> Office:
    office = db.get(Office, office_id)
    assert office is not None
    return office


def _whole(data: dict[str, str], name: str) -> int:
    raw = data.get(name, "").strip()
    if not raw.isdigit():
        raise Refused(name, "give a whole number, e.g. 2")
    return int(raw)


@router.post("/config/followups")
async def save_followup_settings(request: Request, db: DbDep, user: AdminPage) -> Response:
    data = await form_fields(request)
    try:
        change = config.Change(
            noshow_enabled=checkbox(data, "noshow_enabled"),
            noshow_delay_minutes=_whole(data, "noshow_delay_minutes"),
            recall_enabled=checkbox(data, "recall_enabled"),
            recall_texts=_whole(data, "recall_texts"),
            recall_spacing_days=_whole(data, "recall_spacing_days"),
            noshow_templates={lang: data.get(f"noshow_template_{lang}", "") for lang in LANGUAGES},
            recall_templates={lang: data.get(f"recall_template_{lang}", "") for lang in LANGUAGES},
        )
        config.change(db, _office(db, user.office_id), change, audit_actor(user))
    except Refused as exc:
        db.rollback()
        flash(request, f"Follow-up settings not saved: {exc.detail}.", "error")
        return RedirectResponse(BACK, status_code=303)
    db.commit()
    flash(request, "Follow-up and recall settings saved.")
    return RedirectResponse(BACK, status_code=303)


@router.post("/config/recall-intervals")
async def add_recall_interval(request: Request, db: DbDep, user: AdminPage) -> Response:
    data = await form_fields(request)
    try:
        config.add_interval(
            db,
            _office(db, user.office_id),
            data.get("name", ""),
            _whole(data, "months"),
            data.get("reason_contains", ""),  # not "matches": a form field of that name hides form.matches() from htmx
            data.get("kind", "").strip() or None,
            audit_actor(user),
        )
    except Refused as exc:
        db.rollback()
        flash(request, f"Recall interval not added: {exc.detail}.", "error")
        return RedirectResponse(BACK, status_code=303)
    db.commit()
    flash(request, "Recall interval added.")
    return RedirectResponse(BACK, status_code=303)


@router.post("/config/recall-intervals/{interval_id}/delete")
async def delete_recall_interval(request: Request, interval_id: int, db: DbDep, user: AdminPage) -> Response:
    interval = db.get(RecallInterval, interval_id)
    if interval is None or interval.office_id != user.office_id:
        raise HTTPException(404, "No such recall interval in your office.")
    config.remove_interval(db, _office(db, user.office_id), interval, audit_actor(user))
    db.commit()
    flash(request, "Recall interval removed.")
    return RedirectResponse(BACK, status_code=303)
