"""The set-up checklist page (admins). A placeholder listing the seed's steps; the set-up doctor fills it in."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ..deps import DbDep
from .auth import AdminPage
from .rendering import render

router = APIRouter(include_in_schema=False)

STEPS = (
    ("External domain or IP, HTTP type and port", "/config#f-public_host", "Where Twilio reaches this server."),
    ("HTTPS certificate", None, "At least 2048 bits and not about to expire (`reminders doctor` checks it)."),
    ("Twilio account upgraded from trial, with a balance", None, "A trial account only texts verified numbers."),
    ("Twilio phone number with SMS", "/config#f-twilio_phone_number", "Account SID and Auth Token saved."),
    ("The number's messaging and voice URLs point at /app_confirm", None, "`reminders setup` can set them."),
    ("Every clinic phone is a verified caller ID", "/clinics", "Needed to show it on reminder calls."),
    ("API key for video visits", "/config#f-twilio_api_key", "API Key and API Secret."),
    ("The dispatcher is running", None, "`reminders serve` runs it, or `reminders worker`."),
)


@router.get("/setup", response_class=HTMLResponse)
def setup_page(request: Request, db: DbDep, user: AdminPage) -> Response:
    context = {"title": "Set-up checklist", "section": "setup", "steps": STEPS}
    return render(request, "setup.html", context, user=user, db=db)
