"""The office's carrier registration (admins): its business profile, edited here and on the configuration page,
and where each registration stands (`reminders setup twilio --register` submits them)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...doctor.messaging_service import sending_numbers
from ...models import Office, Registration
from ...registration.profile import problems, profile_of, save_profile
from ...registration.samples import campaign_texts, example_link
from ...registration.senders import SenderKind, sender_kind
from ...settings import Settings
from ..deps import AdminUser, DbDep, OfficeDep, SettingsDep, audit_actor
from .schemas.registration import (
    BusinessProfileRead,
    BusinessProfileUpdate,
    CampaignPreview,
    RegistrationRead,
    RegistrationStatus,
)

router = APIRouter(prefix="/office/registration", tags=["office"])


def registration_read(db: Session, settings: Settings, office: Office) -> RegistrationRead:
    profile = profile_of(db, office)
    texts = campaign_texts(db, office, profile, example_link(db, settings, office))
    rows = db.scalars(select(Registration).where(Registration.office_id == office.id).order_by(Registration.id))
    return RegistrationRead(
        profile=BusinessProfileRead.model_validate(profile),
        missing=problems(
            profile, tollfree=any(sender_kind(n) is SenderKind.TOLL_FREE for n in sending_numbers(db, settings, office))
        ),
        messaging_service_sid=office.twilio_messaging_service_sid,
        registrations=[RegistrationStatus.model_validate(row) for row in rows],
        campaign=CampaignPreview(
            samples=texts.samples,
            help_message=texts.help_message,
            opt_out_message=texts.opt_out_message,
            opt_in_message=texts.opt_in_message,
        ),
    )


@router.get("", summary="The business profile and the registrations' status (admin)")
def get_registration(db: DbDep, office: OfficeDep, settings: SettingsDep, _user: AdminUser) -> RegistrationRead:
    read = registration_read(db, settings, office)
    db.commit()  # an empty profile is created on first read
    return read


def update_registration(
    body: BusinessProfileUpdate, db: DbDep, office: OfficeDep, settings: SettingsDep, user: AdminUser
) -> RegistrationRead:
    save_profile(db, office, body.model_dump(exclude_unset=True, exclude_none=True), audit_actor(user))
    db.commit()
    return registration_read(db, settings, office)


_UPDATE_DOC = (
    "Admins only. Only the fields sent change; each is checked as it is saved (EIN shape, URLs, email, E.164), and "
    "`missing` lists what registration still needs. Re-run `reminders setup twilio --register` after correcting a "
    "rejected brand or verification."
)
router.add_api_route(
    "", update_registration, methods=["PATCH"], summary="Change the business profile", description=_UPDATE_DOC
)
router.add_api_route(
    "",
    update_registration,
    methods=["PUT"],
    summary="Change the business profile (same as PATCH)",
    description=_UPDATE_DOC,
    operation_id="replace_registration",
)
