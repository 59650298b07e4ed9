"""Changing the office configuration: the one path for the JSON API (`PUT /api/office`) and the configuration
screen, and how its secrets are shown.

The Auth Token, API Secret and SMTP URL are encrypted with `SecretBox` before they reach the database and are
never shown again in clear: reads get "••••" and a hint (`masked`). Nothing is committed here: the caller
commits, or rolls back on `Refused`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from . import audit
from .crypto import DecryptionError, SecretBox
from .doctor.alerts import smtp_server
from .models import Office
from .refusals import Refused, apply, sent_values

if TYPE_CHECKING:  # the API's schemas validate what staff type; importing them at run time would be circular
    from .web.api.schemas.office import OfficeUpdate

MASK = "••••"
SMTP_URL_FORM = (
    "smtp://user:password@host:587?starttls=1&from=alerts@clinic.example.com, or smtps:// for TLS from the start."
)
# Field -> column holding its Fernet token.
SECRET_COLUMNS = {
    "twilio_auth_token": "twilio_auth_token_encrypted",
    "twilio_api_secret": "twilio_api_secret_encrypted",
    "smtp_url": "smtp_url_encrypted",
}
NULLABLE = frozenset(
    {"public_host", "twilio_phone_number", "twilio_account_sid", "twilio_api_key", "alert_email", "alert_sms"}
)


def smtp_url_problem(url: str) -> str | None:
    """What is wrong with an SMTP URL, without repeating it (it holds a password); None when it will do."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        return f"give it as {SMTP_URL_FORM}"
    try:
        port = parts.port
    except ValueError:  # not a number, or out of range
        port = 0
    return "the port must be a number from 1 to 65535" if port == 0 else None


def _last_four(plain: str) -> str:
    return plain[-4:] if len(plain) >= 12 else ""


# What follows the mask: enough to tell which secret is stored, not to use it. A URL's tail could be its password.
_HINTS: dict[str, Callable[[str], str]] = {"smtp_url": lambda url: "@" + smtp_server(url)}


def hidden(field: str, plain: str) -> str:
    """A secret as it is shown: "••••" and a hint (by default its last four characters)."""
    return MASK + _HINTS.get(field, _last_four)(plain)


def masked(box: SecretBox, office: Office) -> dict[str, str | None]:
    """Every secret of the office as reads show it; None where nothing is stored."""
    shown: dict[str, str | None] = {}
    for field, column in SECRET_COLUMNS.items():
        token = getattr(office, column)
        try:
            shown[field] = None if token is None else hidden(field, box.decrypt(token))
        except DecryptionError:
            shown[field] = f"{MASK} (unreadable with the current secret key; enter it again)"
    return shown


def _apply_secrets(office: Office, body: OfficeUpdate, box: SecretBox) -> list[str]:
    changed = []
    for field, column in SECRET_COLUMNS.items():
        sent = field in body.model_fields_set
        value = getattr(body, field)
        plain = value.get_secret_value().strip() if value is not None else ""
        clear = getattr(body, f"clear_{field}") or (sent and value is None)
        if clear and plain:
            raise Refused(f"clear_{field}", f"give either a new {field} or clear it, not both")
        if clear:
            if getattr(office, column) is not None:
                setattr(office, column, None)
                changed.append(field)
        elif plain and not plain.startswith(MASK):  # "" or the masked value sent back: keep the stored one
            problem = smtp_url_problem(plain) if field == "smtp_url" else None
            if problem:
                raise Refused(field, problem)
            setattr(office, column, box.encrypt(plain))
            changed.append(field)
    return changed


def _check_consistency(office: Office) -> None:
    if office.quiet_hours_start >= office.quiet_hours_end:
        raise Refused("quiet_hours_end", "must be after quiet_hours_start")
    if office.max_reminders_per_week < office.max_reminders_per_day:
        raise Refused("max_reminders_per_week", "must be at least max_reminders_per_day")


def change(db: Session, office: Office, body: OfficeUpdate, box: SecretBox, actor: str) -> list[str]:
    """Only the fields `body` sets change (a secret sent empty or masked is kept); returns the changed names."""
    values = sent_values(body, NULLABLE, exclude={*SECRET_COLUMNS, *(f"clear_{f}" for f in SECRET_COLUMNS)})
    changed = apply(office, values) + _apply_secrets(office, body, box)
    _check_consistency(office)
    if changed:
        audit.record(db, office.id, actor, "update", "office", office.id, fields=sorted(changed))
    return changed


def set_templates(db: Session, office: Office, templates: dict[str, str], actor: str) -> None:
    """The office's own reminder texts by language (checked by the caller with `validate_template`)."""
    if templates != (office.sms_templates or {}):
        office.sms_templates = templates
        audit.record(db, office.id, actor, "update", "office", office.id, fields=["sms_templates"])
