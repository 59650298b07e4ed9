"""The after-hours auto-reply's section of the configuration page (admins): on or off, the reply in English and
Spanish, the holidays' country and state, the office's own closed days, and each clinic's opening hours. Saved by
`afterhours.config`; the configuration page includes `config_context`."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...afterhours import config, hours
from ...afterhours.texts import DEFAULTS
from ...messaging.compose import LANGUAGES
from ...models import AfterHoursSettings, Clinic, Office
from ...refusals import Refused
from ..deps import DbDep, audit_actor
from .auth import AdminPage
from .csrf import check_csrf
from .forms import checkbox, form_fields
from .rendering import flash

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def config_context(db: Session, office: Office) -> dict[str, Any]:
    row = db.get(AfterHoursSettings, office.id) or AfterHoursSettings(enabled=False, texts={}, closed_dates=[])
    clinics = list(db.scalars(select(Clinic).where(Clinic.office_id == office.id).order_by(Clinic.name)))
    found = config.hours_of(db, office.id)
    return {
        "after_hours": row,
        "after_hours_clinics": [
            (c, [hours.show_span(found.get(c.id, {}).get(day)) for day in range(7)]) for c in clinics
        ],
        "after_hours_defaults": DEFAULTS,
        "weekday_short": WEEKDAYS,
    }


def _dates(text: str) -> list[date]:
    found = []
    for word in re.split(r"[\s,;]+", text.strip()):
        if not word:
            continue
        try:
            found.append(date.fromisoformat(word))
        except ValueError:
            raise Refused("closed_dates", "write each day as 2030-12-24, one per line") from None
    return found


@router.post("/config/after-hours")
async def save_after_hours(request: Request, db: DbDep, user: AdminPage) -> Response:
    data = await form_fields(request)
    office = db.get(Office, user.office_id)
    assert office is not None
    clinic_ids = db.scalars(select(Clinic.id).where(Clinic.office_id == office.id))
    try:
        opening = {
            clinic_id: {
                day: hours.parse_span(f"hours_{clinic_id}_{day}", data.get(f"hours_{clinic_id}_{day}", ""))
                for day in range(7)
            }
            for clinic_id in clinic_ids
        }
        change = config.Change(
            enabled=checkbox(data, "enabled"),
            texts={lang: data.get(f"text_{lang}", "") for lang in LANGUAGES},
            holiday_country=data.get("holiday_country"),
            holiday_subdivision=data.get("holiday_subdivision"),
            closed_dates=_dates(data.get("closed_dates", "")),
            hours=opening,
        )
        config.change(db, office, change, audit_actor(user))
    except Refused as exc:
        db.rollback()
        flash(request, f"After-hours settings not saved: {exc.detail}.", "error")
        return RedirectResponse("/config#after-hours", status_code=303)
    db.commit()
    flash(request, "After-hours settings saved.")
    return RedirectResponse("/config#after-hours", status_code=303)
