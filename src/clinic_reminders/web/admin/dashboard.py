"""The dashboard (admins): how reminders are working for a period and clinic, as charts and a CSV export."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...followup.views import counts_on_days as followup_counts
from ...models import Clinic, Office
from ...waitlist.views import counts_on_days as waitlist_counts
from ..deps import DbDep
from .auth import AdminPage
from .csrf import check_csrf
from .dashboard_data import Figures, compute, to_csv
from .outreach_kpis import outreach_counts
from .rendering import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

DEFAULT_DAYS = 30
MAX_DAYS = 366
COLORS = {"ok": "#2e8b4e", "bad": "#c53030", "warn": "#c77700", "wait": "#8792a0", "brand": "#0b5cad"}
STATUS_COLORS = {
    "confirmed": COLORS["ok"],
    "cancelled": COLORS["bad"],
    "reschedule-requested": COLORS["warn"],
    "no-show": "#7a4100",
    "completed": COLORS["brand"],
    "scheduled": COLORS["wait"],
}


def _period(
    db: Session, office_id: int, start: str, end: str, clinic_id: str
) -> tuple[date, date, int | None, str, list[Clinic]]:
    clinics = list(db.scalars(select(Clinic).where(Clinic.office_id == office_id).order_by(Clinic.name)))
    chosen = int(clinic_id) if clinic_id.isdigit() and any(c.id == int(clinic_id) for c in clinics) else None
    zone = next((c.timezone for c in clinics if c.id == chosen), clinics[0].timezone if clinics else "UTC")
    today = datetime.now(ZoneInfo(zone)).date()
    try:
        last = date.fromisoformat(end)
    except ValueError:
        last = today
    try:
        first = date.fromisoformat(start)
    except ValueError:
        first = last - timedelta(days=DEFAULT_DAYS - 1)
    first = max(min(first, last), last - timedelta(days=MAX_DAYS - 1))
    return first, last, chosen, zone, clinics


def _figures(db: Session, user: AdminPage, start: str, end: str, clinic_id: str) -> tuple[Figures, dict[str, Any]]:
    first, last, chosen, zone, clinics = _period(db, user.office_id, start, end, clinic_id)
    office = db.get(Office, user.office_id)
    price = office.sms_price_per_segment if office else 0
    figures = compute(db, user.office_id, first, last, zone, chosen, price)  # type: ignore[arg-type]
    return figures, {"clinics": clinics, "clinic_id": chosen, "zone": zone}


def charts(figures: Figures) -> dict[str, dict[str, Any]]:
    """Chart.js configurations; the page also shows the same numbers as tables."""
    labels = [d.day.strftime("%b %d") for d in figures.days]
    days = figures.days
    answers = {
        "type": "bar",
        "data": {
            "labels": labels,
            "datasets": [
                {"label": "Confirmed", "data": [d.confirmed_by_patient for d in days], "backgroundColor": COLORS["ok"]},
                {
                    "label": "Cancelled or moved",
                    "data": [d.cancellations_caught for d in days],
                    "backgroundColor": COLORS["bad"],
                },
                {
                    "label": "No answer",
                    "data": [max(d.reminded - d.confirmed_by_patient - d.cancellations_caught, 0) for d in days],
                    "backgroundColor": COLORS["wait"],
                },
            ],
        },
        "options": {"scales": {"x": {"stacked": True}, "y": {"stacked": True, "beginAtZero": True}}},
    }
    texts = {
        "type": "line",
        "data": {
            "labels": labels,
            "datasets": [
                {"label": "Sent", "data": [d.texts_sent for d in days], "borderColor": COLORS["brand"]},
                {"label": "Delivered", "data": [d.texts_delivered for d in days], "borderColor": COLORS["ok"]},
                {"label": "Failed", "data": [d.texts_failed for d in days], "borderColor": COLORS["bad"]},
            ],
        },
        "options": {"scales": {"y": {"beginAtZero": True}}},
    }
    statuses = sorted(figures.statuses.items(), key=lambda kv: -kv[1])
    outcomes = {
        "type": "doughnut",
        "data": {
            "labels": [s for s, _ in statuses],
            "datasets": [
                {
                    "data": [n for _, n in statuses],
                    "backgroundColor": [STATUS_COLORS.get(s, COLORS["wait"]) for s, _ in statuses],
                }
            ],
        },
    }
    cost = {
        "type": "bar",
        "data": {
            "labels": labels,
            "datasets": [
                {"label": "Cost (USD)", "data": [float(d.cost_usd) for d in days], "backgroundColor": COLORS["brand"]}
            ],
        },
        "options": {"scales": {"y": {"beginAtZero": True}}},
    }
    return {"answers": answers, "texts": texts, "outcomes": outcomes, "cost": cost}


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(
    request: Request, db: DbDep, user: AdminPage, start: str = "", end: str = "", clinic_id: str = ""
) -> Response:
    figures, extra = _figures(db, user, start, end, clinic_id)
    query = f"start={figures.start.isoformat()}&end={figures.end.isoformat()}&clinic_id={extra['clinic_id'] or ''}"
    context = {
        "title": "Dashboard",
        "section": "dashboard",
        "fig": figures,
        "charts": {key: json.dumps(spec).replace("</", "<\\/") for key, spec in charts(figures).items()},
        "csv_url": f"/dashboard.csv?{query}",
        "waitlist": waitlist_counts(db, user.office_id, figures.start, figures.end, extra["zone"]),
        "followups": followup_counts(db, user.office_id, figures.start, figures.end, extra["zone"]),
        "outreach": outreach_counts(db, user.office_id, figures.start, figures.end, extra["zone"]),
        **extra,
    }
    return render(request, "dashboard.html", context, user=user, db=db)


@router.get("/dashboard.csv")
def dashboard_csv(db: DbDep, user: AdminPage, start: str = "", end: str = "", clinic_id: str = "") -> Response:
    figures, _ = _figures(db, user, start, end, clinic_id)
    name = f"reminders-{figures.start.isoformat()}-{figures.end.isoformat()}.csv"
    return Response(
        to_csv(figures), media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
