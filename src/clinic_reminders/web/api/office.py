"""The office configuration: public URL parts, Twilio credentials, quiet hours and limits.

Everyone signed in may read it (secrets masked); only admins change it. The Auth Token and API Secret are
encrypted with `SecretBox` before they reach the database and are never sent back in clear.
"""

from __future__ import annotations

from fastapi import APIRouter

from ... import audit
from ...crypto import DecryptionError, SecretBox
from ...models import Office
from ..deps import AdminUser, CurrentUser, DbDep, OfficeDep, SettingsDep, audit_actor
from .errors import invalid
from .lookups import apply
from .schemas.office import MASK, OfficeRead, OfficeUpdate

router = APIRouter(prefix="/office", tags=["office"])

# API field -> column holding its Fernet token.
SECRET_COLUMNS = {
    "twilio_auth_token": "twilio_auth_token_encrypted",
    "twilio_api_secret": "twilio_api_secret_encrypted",
}
_NULLABLE = frozenset({"public_host", "twilio_phone_number", "twilio_account_sid", "twilio_api_key"})


def mask(box: SecretBox, token: str | None) -> str | None:
    """ "••••" and the last four characters: enough to tell which secret is stored, not to use it."""
    if token is None:
        return None
    try:
        plain = box.decrypt(token)
    except DecryptionError:
        return f"{MASK} (unreadable with the current secret key; enter it again)"
    return MASK + plain[-4:] if len(plain) >= 12 else MASK


def _read(office: Office, box: SecretBox) -> OfficeRead:
    data = {k: getattr(office, k) for k in OfficeRead.model_fields if k not in SECRET_COLUMNS}
    data.update({field: mask(box, getattr(office, column)) for field, column in SECRET_COLUMNS.items()})
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
    'The Auth Token and API Secret are write-only: "" or the masked value keeps the stored one, null or '
    "`clear_twilio_auth_token`/`clear_twilio_api_secret` removes it."
)
router.add_api_route(
    "", update_office, methods=["PATCH"], summary="Change the office configuration", description=_UPDATE_DOC
)
router.add_api_route(
    "",
    update_office,
    methods=["PUT"],
    summary="Change the office configuration (same as PATCH)",
    description=_UPDATE_DOC,
    operation_id="replace_office",
)
