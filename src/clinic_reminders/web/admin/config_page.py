"""The seed's configuration screen (admins): public address, Twilio account, alert recipients, quiet hours, caps
and reminder texts.

Validation and saving are the JSON API's (`PUT /api/office`): the same schema, the same encryption of the Auth
Token, API Secret and SMTP URL. Those are write-only: the page shows "••••" and a hint (the last four characters,
the mail server), never the secret, and an empty box keeps what is saved.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from ... import audit
from ...crypto import SecretBox
from ...doctor.alerts import describe, send_test_alert
from ...doctor.context import DoctorContext
from ...effective import alert_config
from ...messaging.compose import (
    LANGUAGES,
    TEMPLATE_VARIABLES,
    TemplateRenderError,
    render_sms,
    sample_context,
    validate_template,
)
from ...messaging.segments import estimate_cost
from ...models import Office, StaffUser
from ...settings import Settings
from ..api import office as office_api
from ..api.schemas.office import OfficeUpdate
from ..deps import DbDep, SettingsDep, audit_actor
from .auth import AdminPage
from .config_rules import rules_context
from .csrf import check_csrf
from .forms import FieldErrors, call, checkbox, form_fields, parse
from .rendering import flash, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

LANGUAGE_NAMES = {"en": "English", "es": "Spanish"}
TEXT_FIELDS: tuple[str, ...] = (
    "name",
    "public_host",
    "http_type",
    "public_port",
    "twilio_phone_number",
    "twilio_account_sid",
    "twilio_api_key",
    "quiet_hours_start",
    "quiet_hours_end",
    "max_reminders_per_day",
    "max_reminders_per_week",
    "sms_price_per_segment",
    "alert_email",
    "alert_sms",
)
NULLABLE = frozenset(
    {"public_host", "twilio_phone_number", "twilio_account_sid", "twilio_api_key", "alert_email", "alert_sms"}
)
# Environment variables that win over a field of this screen (shown next to it).
ENV_OVERRIDES = {
    "public_host": ("public_url", "REMINDERS_PUBLIC_URL"),
    "twilio_account_sid": ("twilio_account_sid", "TWILIO_ACCOUNT_SID"),
    "twilio_auth_token": ("twilio_auth_token", "TWILIO_AUTH_TOKEN"),
    "twilio_phone_number": ("twilio_phone_number", "TWILIO_PHONE_NUMBER"),
    "twilio_api_key": ("twilio_api_key", "TWILIO_API_KEY"),
    "twilio_api_secret": ("twilio_api_secret", "TWILIO_API_SECRET"),
    "alert_email": ("alert_email", "REMINDERS_ALERT_EMAIL"),
    "alert_sms": ("alert_sms", "REMINDERS_ALERT_SMS"),
    "smtp_url": ("smtp_url", "REMINDERS_SMTP_URL"),
}


class PreviewIn(BaseModel):
    template: str = Field(default="", max_length=2000)
    language: str = "en"


def preview(template: str, language: str, price: Decimal) -> dict[str, Any]:
    """The text as a typical patient would get it, its segments and cost, and what is wrong with it."""
    source = template.strip() or None
    problems = validate_template(template, language) if source else []
    try:
        rendered = render_sms(source, sample_context(language))
    except TemplateRenderError as exc:
        return {"body": "", "summary": "", "problems": problems or [str(exc)]}
    seg = rendered.segments
    cost = estimate_cost(seg.segments, price)
    summary = (
        f"{seg.characters} characters · {seg.segments} segment{'s' if seg.segments != 1 else ''} ({seg.encoding})"
        f" · ${cost:.4f} per text"
    )
    return {"body": rendered.body, "summary": summary, "problems": problems, "segments": seg.segments}


def _overrides(settings: Settings) -> dict[str, str]:
    return {field: env for field, (attr, env) in ENV_OVERRIDES.items() if getattr(settings, attr)}


def show_config(
    request: Request,
    db: Session,
    office: Office,
    user: StaffUser,
    *,
    values: dict[str, Any] | None = None,
    errors: FieldErrors | None = None,
    templates: dict[str, str] | None = None,
    rule_editing: tuple[str, dict[str, Any], FieldErrors] | None = None,
) -> Response:
    """The page, optionally with a refused form's values and errors (never a secret's value)."""
    settings: Settings = request.app.state.settings
    stored = office_api.masked(SecretBox(settings.secret_key_value), office)
    current = {field: getattr(office, field) for field in TEXT_FIELDS}
    current["include_visit_reason"] = office.include_visit_reason
    texts = templates if templates is not None else dict(office.sms_templates or {})
    price = office.sms_price_per_segment
    context = {
        "title": "Configuration",
        "section": "config",
        "v": {**current, **(values or {})},
        "errors": errors or {},
        "secrets": stored,
        "overrides": _overrides(settings),
        "public_url": settings.public_url or office.public_url,
        "alert_routes": describe(alert_config(settings, office)),
        "languages": [(lang, LANGUAGE_NAMES.get(lang, lang)) for lang in LANGUAGES],
        "texts": texts,
        "previews": {lang: preview(texts.get(lang, ""), lang, price) for lang in LANGUAGES},
        "variables": TEMPLATE_VARIABLES,
        **rules_context(db, office, rule_editing),
    }
    status = 422 if errors or (rule_editing and rule_editing[2]) else 200
    return render(request, "config.html", context, user=user, db=db, status_code=status)


@router.get("/config", response_class=HTMLResponse)
def config_page(request: Request, db: DbDep, user: AdminPage) -> Response:
    office = db.get(Office, user.office_id)
    assert office is not None
    return show_config(request, db, office, user)


def _office_update(data: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in TEXT_FIELDS:
        if field in data:
            raw = data[field].strip()
            values[field] = None if raw == "" and field in NULLABLE else raw
    values["include_visit_reason"] = checkbox(data, "include_visit_reason")
    for secret in office_api.SECRET_COLUMNS:
        if checkbox(data, f"clear_{secret}"):
            values[f"clear_{secret}"] = True
        elif data.get(secret, "").strip():
            values[secret] = data[secret].strip()
    return values


@router.post("/config", response_class=HTMLResponse)
async def save_config(request: Request, db: DbDep, settings: SettingsDep, user: AdminPage) -> Response:
    office = db.get(Office, user.office_id)
    assert office is not None
    data = await form_fields(request)
    values = _office_update(data)
    body, errors = parse(OfficeUpdate, values)
    texts: dict[str, str] = {lang: data.get(f"template_{lang}", "").strip() for lang in LANGUAGES}
    for lang, text in texts.items():
        problems = validate_template(text, lang) if text else []
        if problems:
            errors[f"template_{lang}"] = " ".join(problems)
    shown = {k: v for k, v in values.items() if k in TEXT_FIELDS or k == "include_visit_reason"}
    if body is None or errors:
        return show_config(request, db, office, user, values=shown, errors=errors, templates=texts)
    new_templates = {lang: text for lang, text in texts.items() if text}
    if new_templates != (office.sms_templates or {}):
        office.sms_templates = new_templates
        audit.record(db, office.id, audit_actor(user), "update", "office", office.id, fields=["sms_templates"])
    _, errors = call(office_api.update_office, body, db, office, settings, user)
    if errors:
        db.rollback()
        db.refresh(office)
        return show_config(request, db, office, user, values=shown, errors=errors, templates=texts)
    flash(request, "Configuration saved.")
    return RedirectResponse("/config", status_code=303)


@router.post("/config/alerts/test")
def test_alert(request: Request, db: DbDep, settings: SettingsDep, user: AdminPage) -> Response:
    """One alert through each channel as saved. A plain `def`: the mail server and Twilio are waited for in the
    threadpool, never on the event loop (the demo's simulator answers from it)."""
    ctx = DoctorContext(settings, request.app.state.sessions, office_id=user.office_id)
    deliveries = send_test_alert(ctx)
    if not deliveries:
        flash(request, "No test alert sent: save an alert email address or an alert SMS number first.", "error")
    for delivery in deliveries:
        if delivery.error is None:
            flash(request, f"Test alert sent by {delivery.channel} to {delivery.to}.")
        else:
            flash(request, f"The test alert by {delivery.channel} to {delivery.to} failed: {delivery.error}.", "error")
    sent = [delivery.channel for delivery in deliveries if delivery.error is None]
    audit.record(db, user.office_id, audit_actor(user), "test_alert", "office", user.office_id, sent=sent)
    db.commit()
    return RedirectResponse("/config#alerts", status_code=303)


@router.post("/config/preview")
async def template_preview(request: Request, db: DbDep, user: AdminPage) -> JSONResponse:
    try:
        body = PreviewIn.model_validate(await request.json())
    except ValueError:  # not JSON, or not the expected shape
        return JSONResponse({"detail": "send {template, language} as JSON"}, 422)
    office = db.get(Office, user.office_id)
    assert office is not None
    return JSONResponse(preview(body.template, body.language, office.sms_price_per_segment))
