"""The office configuration: public URL parts, Twilio credentials, alert recipients, quiet hours and limits.

Everyone signed in may read it (secrets masked); only admins change it. The Auth Token, API Secret and SMTP URL
are encrypted with `SecretBox` before they reach the database and are never sent back in clear.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter

from ... import audit
from ...crypto import DecryptionError, SecretBox
from ...doctor.alerts import smtp_server
from ...models import Office
from ..deps import AdminUser, CurrentUser, DbDep, OfficeDep, SettingsDep, audit_actor
from .errors import ADMIN_ONLY, invalid
from .lookups import apply
from .schemas.office import MASK, MAX_ALERT_EMAILS, OfficeRead, OfficeUpdate, smtp_url_problem

router = APIRouter(prefix="/office", tags=["office"])

# API field -> column holding its Fernet token.
SECRET_COLUMNS = {
    "twilio_auth_token": "twilio_auth_token_encrypted",
    "twilio_api_secret": "twilio_api_secret_encrypted",
    "smtp_url": "smtp_url_encrypted",
}
_NULLABLE = frozenset(
    {"public_host", "twilio_phone_number", "twilio_account_sid", "twilio_api_key", "alert_email", "alert_sms"}
)


def _last_four(plain: str) -> str:
    return plain[-4:] if len(plain) >= 12 else ""


# What follows the mask: enough to tell which secret is stored, not to use it. A URL's tail could be its password.
_HINTS: dict[str, Callable[[str], str]] = {"smtp_url": lambda url: "@" + smtp_server(url)}


def mask(box: SecretBox, token: str | None, hint: Callable[[str], str] = _last_four) -> str | None:
    """ "••••" and a hint (by default the last four characters), or None when nothing is stored."""
    if token is None:
        return None
    try:
        plain = box.decrypt(token)
    except DecryptionError:
        return f"{MASK} (unreadable with the current secret key; enter it again)"
    return MASK + hint(plain)


def masked(box: SecretBox, office: Office) -> dict[str, str | None]:
    """Every secret of the office as reads show it."""
    return {
        field: mask(box, getattr(office, column), _HINTS.get(field, _last_four))
        for field, column in SECRET_COLUMNS.items()
    }


def _read(office: Office, box: SecretBox) -> OfficeRead:
    data = {k: getattr(office, k) for k in OfficeRead.model_fields if k not in SECRET_COLUMNS}
    data.update(masked(box, office))
    return OfficeRead.model_validate(data)


def _apply_secrets(office: Office, body: OfficeUpdate, box: SecretBox) -> list[str]:
    changed = []
    for field, column in SECRET_COLUMNS.items():
        sent = field in body.model_fields_set
        value = getattr(body, field)
        plain = value.get_secret_value().strip() if value is not None else ""
        clear = getattr(body, f"clear_{field}") or (sent and value is None)
        if clear and plain:
            invalid(f"clear_{field}", f"give either a new {field} or clear it, not both")
        if clear:
            if getattr(office, column) is not None:
                setattr(office, column, None)
                changed.append(field)
        elif plain and not plain.startswith(MASK):  # "" or the masked value sent back: keep the stored one
            problem = smtp_url_problem(plain) if field == "smtp_url" else None
            if problem:
                invalid(field, problem)
            setattr(office, column, box.encrypt(plain))
            changed.append(field)
    return changed


def _check_consistency(office: Office) -> None:
    if office.quiet_hours_start >= office.quiet_hours_end:
        invalid("quiet_hours_end", "must be after quiet_hours_start")
    if office.max_reminders_per_week < office.max_reminders_per_day:
        invalid("max_reminders_per_week", "must be at least max_reminders_per_day")


@router.get("", summary="The office configuration", description="Secrets are masked: '••••' and their last 4.")
def get_office(office: OfficeDep, settings: SettingsDep, _user: CurrentUser) -> OfficeRead:
    return _read(office, SecretBox(settings.secret_key_value))


def update_office(
    body: OfficeUpdate, db: DbDep, office: OfficeDep, settings: SettingsDep, user: AdminUser
) -> OfficeRead:
    box = SecretBox(settings.secret_key_value)
    values = body.model_dump(exclude_unset=True, exclude={*SECRET_COLUMNS, *(f"clear_{f}" for f in SECRET_COLUMNS)})
    for field, value in values.items():
        if value is None and field not in _NULLABLE:
            invalid(field, "may not be null; leave the field out to keep it")
    changed = apply(office, values) + _apply_secrets(office, body, box)
    _check_consistency(office)
    if changed:
        audit.record(db, office.id, audit_actor(user), "update", "office", office.id, fields=sorted(changed))
    db.commit()
    return _read(office, box)


_UPDATE_DOC = (
    "Admins only. Only the fields sent change (PUT and PATCH behave the same, so a form can send everything). "
    'The Auth Token, API Secret and SMTP URL are write-only: "" or the masked value keeps the stored one, null or '
    "`clear_twilio_auth_token`/`clear_twilio_api_secret`/`clear_smtp_url` removes it. `alert_email` takes up to "
    f"{MAX_ALERT_EMAILS} comma-separated addresses, `alert_sms` an E.164 number; the REMINDERS_ALERT_* and "
    "REMINDERS_SMTP_URL environment variables win over them."
)
router.add_api_route(
    "",
    update_office,
    methods=["PATCH"],
    responses=ADMIN_ONLY,
    summary="Change the office configuration",
    description=_UPDATE_DOC,
)
router.add_api_route(
    "",
    update_office,
    methods=["PUT"],
    responses=ADMIN_ONLY,
    summary="Change the office configuration (same as PATCH)",
    description=_UPDATE_DOC,
    operation_id="replace_office",
)
