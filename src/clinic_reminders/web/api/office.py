"""The office configuration: public URL parts, Twilio credentials, alert recipients, quiet hours and limits.

Everyone signed in may read it (secrets masked); only admins change it, through `office_config`, which encrypts
the Auth Token, API Secret and SMTP URL before they reach the database; they are never sent back in clear.
"""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.orm import Session

from ... import office_config
from ...crypto import SecretBox
from ...models import Office
from ..deps import AdminUser, CurrentUser, DbDep, OfficeDep, SettingsDep, audit_actor
from .errors import ADMIN_ONLY
from .schemas.office import MAX_ALERT_EMAILS, OfficeRead, OfficeUpdate
from .writeback import office_destinations

router = APIRouter(prefix="/office", tags=["office"])


def _read(db: Session, office: Office, box: SecretBox) -> OfficeRead:
    computed = {*office_config.SECRET_COLUMNS, "writeback_destinations"}
    data = {k: getattr(office, k) for k in OfficeRead.model_fields if k not in computed}
    data.update(office_config.masked(box, office))
    data["writeback_destinations"] = office_destinations(db, office)
    return OfficeRead.model_validate(data)


@router.get(
    "",
    summary="The office configuration",
    description="Secrets are masked: '••••' and their last 4. `writeback_destinations` lists where the office's "
    "events are written back (no secrets); /api/writeback/destinations changes them.",
)
def get_office(db: DbDep, office: OfficeDep, settings: SettingsDep, _user: CurrentUser) -> OfficeRead:
    return _read(db, office, SecretBox(settings.secret_key_value))


def update_office(
    body: OfficeUpdate, db: DbDep, office: OfficeDep, settings: SettingsDep, user: AdminUser
) -> OfficeRead:
    box = SecretBox(settings.secret_key_value)
    office_config.change(db, office, body, box, audit_actor(user))
    db.commit()
    return _read(db, office, box)


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
