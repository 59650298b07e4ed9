"""The seed's configuration screen (admins): public address, Twilio account, alert recipients, quiet hours, caps
and reminder texts.

Validation and saving are the JSON API's (`PUT /api/office`): the same schema, the same service
(`office_config`), so the same encryption of the Auth Token, API Secret and SMTP URL. Those are write-only: the
page shows "••••" and a hint (the last four characters, the mail server), never the secret, and an empty box keeps
what is saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, SecretStr
from sqlalchemy.orm import Session

from ... import audit, office_config
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
from ...office_config import MASK, smtp_url_problem
from ...settings import Settings
from ..api.schemas.office import OfficeUpdate
from ..deps import DbDep, SettingsDep, audit_actor
from .afterhours_pages import config_context as after_hours_context
from .auth import AdminPage
from .config_pms_codes import pms_codes_context
from .config_rules import rules_context
from .csrf import check_csrf
from .followup_pages import config_context as followup_context
from .forms import FieldErrors, call, checkbox, form_fields, parse
from .rendering import flash, render
from .waitlist_pages import config_context
from .writeback_pages import summary_context as writeback_summary

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


# What a field must look like, when its pattern refuses what was typed.
PATTERN_HINTS = {
    "twilio_account_sid": "an Account SID is AC and 32 letters and digits (0-9, a-f), as on the Twilio Console",
    "twilio_api_key": "an API Key SID is SK and 32 letters and digits (0-9, a-f), as Twilio shows it",
}
# The API's checks across fields, named as the screen names the fields.
CROSS_FIELD_WORDS = {
    "must be after quiet_hours_start": "must be later than the “Not before” time",
    "must be at least max_reminders_per_day": "must be at least the number per day",
}
# The screen's names for its fields, in the list of what to correct.
FIELD_LABELS = {
    "name": "Office name",
    "public_host": "External domain or IP",
    "http_type": "HTTP type",
    "public_port": "Port",
    "twilio_phone_number": "Twilio phone number",
    "twilio_account_sid": "Account SID",
    "twilio_auth_token": "Auth Token",
    "twilio_api_key": "API Key",
    "twilio_api_secret": "API Secret",
    "alert_email": "Alert email addresses",
    "alert_sms": "Alert SMS number",
    "smtp_url": "SMTP URL",
    "quiet_hours_start": "Not before",
    "quiet_hours_end": "Not after",
    "max_reminders_per_day": "At most per patient per day",
    "max_reminders_per_week": "At most per patient per week",
    "sms_price_per_segment": "Price per SMS segment",
    "template_en": "Text in English",
    "template_es": "Text in Spanish",
}
SID_FIELDS = frozenset({"twilio_account_sid", "twilio_api_key"})


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


@dataclass(frozen=True)
class InForce:
    """A value the server's environment sets, which wins over the screen's: shown masked, with its variable."""

    variable: str
    shown: str


def _masked(field: str, value: str) -> str:
    if field in office_config.SECRET_COLUMNS:
        return office_config.hidden(field, value)
    if field in SID_FIELDS:
        return value[:2] + MASK + value[-4:]
    return value  # an address, a phone number, e-mail addresses: not secrets


def _overrides(settings: Settings) -> dict[str, InForce]:
    found = {}
    for field, (attr, env) in ENV_OVERRIDES.items():
        value = getattr(settings, attr)
        if value:
            plain = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
            found[field] = InForce(env, _masked(field, plain))
    return found


def _plain(errors: FieldErrors) -> FieldErrors:
    return {field: CROSS_FIELD_WORDS.get(message, message) for field, message in errors.items()}


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
    stored = office_config.masked(SecretBox(settings.secret_key_value), office)
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
        "labels": FIELD_LABELS,
        "public_url": settings.public_url or office.public_url,
        "alert_routes": describe(alert_config(settings, office)),
        "languages": [(lang, LANGUAGE_NAMES.get(lang, lang)) for lang in LANGUAGES],
        "texts": texts,
        "previews": {lang: preview(texts.get(lang, ""), lang, price) for lang in LANGUAGES},
        "variables": TEMPLATE_VARIABLES,
        **rules_context(db, office, rule_editing),
        **writeback_summary(db, office.id),
        **pms_codes_context(db, office.id),
        **config_context(db, office),
        **followup_context(db, office),
        **after_hours_context(db, office),
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
            values[field] = None if raw == "" and field in office_config.NULLABLE else raw
    values["include_visit_reason"] = checkbox(data, "include_visit_reason")
    for secret in office_config.SECRET_COLUMNS:
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
    body, errors = parse(OfficeUpdate, values, PATTERN_HINTS)
    smtp_problem = smtp_url_problem(values["smtp_url"]) if values.get("smtp_url") else None
    if smtp_problem:  # the API checks it only once the rest is right: said here with the others, at once
        errors.setdefault("smtp_url", smtp_problem)
    texts: dict[str, str] = {lang: data.get(f"template_{lang}", "").strip() for lang in LANGUAGES}
    for lang, text in texts.items():
        problems = validate_template(text, lang) if text else []
        if problems:
            errors[f"template_{lang}"] = " ".join(problems)
    shown = {k: v for k, v in values.items() if k in TEXT_FIELDS or k == "include_visit_reason"}
    if body is None or errors:
        return show_config(request, db, office, user, values=shown, errors=errors, templates=texts)
    actor, box = audit_actor(user), SecretBox(settings.secret_key_value)
    office_config.set_templates(db, office, {lang: text for lang, text in texts.items() if text}, actor)
    _, errors = call(office_config.change, db, office, body, box, actor)
    errors = _plain(errors)
    if errors:
        db.rollback()
        db.refresh(office)
        return show_config(request, db, office, user, values=shown, errors=errors, templates=texts)
    db.commit()
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
