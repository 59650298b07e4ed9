"""The set-up page's JSON API (admins only, except the banners): the doctor's report and the Twilio
provisioning steps one by one, as `reminders setup twilio` runs them.

Endpoints are plain `def`: the Twilio SDK's set-up calls are synchronous and must run in the threadpool, never
on the event loop (in the demo the simulator answers from that same loop). Secrets never come back: the auth
token and the API key secret are stored encrypted and only their presence is reported.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel, Field, SecretStr

from ... import audit
from ...doctor.alerts import current_banners
from ...doctor.context import DoctorContext
from ...doctor.provision import Provisioner, listed
from ...doctor.register import Registrar
from ...doctor.runner import run_doctor
from ...doctor.steps import Step
from ...effective import twilio_config
from ...gateways import TwilioError
from ...registration import rows
from ...registration.problems import fix
from ..deps import AdminUser, CurrentUser, DbDep, SettingsDep, audit_actor, get_office
from ..webhooks.doctor_ping import last_receipt
from .errors import ADMIN_ONLY, CONFLICT, TWILIO_FAILED

router = APIRouter(prefix="/setup", tags=["setup"])
# A step that talks to Twilio (admins only): 409 when the credentials are missing or Twilio refuses them, 502
# when it fails.
_TWILIO_STEP = {**ADMIN_ONLY, **CONFLICT, **TWILIO_FAILED}


class Credentials(BaseModel):
    account_sid: str = Field(pattern=r"^AC[0-9a-fA-F]{32}$")
    auth_token: SecretStr = Field(min_length=8)


class NumberChoice(BaseModel):
    phone_number: str | None = Field(default=None, description="Buy (or adopt) exactly this number.")
    area_code: int | None = Field(default=None, ge=200, le=999)
    city: str | None = Field(default=None, max_length=100)


class Registering(BaseModel):
    confirm_fees: bool = Field(
        default=False,
        description="Accept the registration fees (brand, vetting, campaign) the answer lists; without it nothing "
        "that costs money is submitted.",
    )


class SetupRun(NumberChoice, Registering):
    account_sid: str | None = Field(default=None, pattern=r"^AC[0-9a-fA-F]{32}$")
    auth_token: SecretStr | None = None
    carrier_registration: bool = Field(
        default=False, description="Also register for US texting from the business profile (as --register)."
    )


def _provisioner(
    request: Request, user: AdminUser, db: DbDep, body: Credentials | SetupRun | None = None
) -> Provisioner:
    settings = request.app.state.settings
    config = twilio_config(settings, get_office(user, db))
    sid = (body.account_sid if body else None) or config.account_sid
    token = body.auth_token.get_secret_value() if body and body.auth_token else config.auth_token
    if not sid or not token:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="give the Account SID and Auth Token first")
    gateway = config.with_credentials(sid, token).gateway(timeout=settings.twilio_timeout)
    return Provisioner(settings, request.app.state.sessions, gateway, auth_token=token, office_id=user.office_id)


def _done(db: DbDep, user: AdminUser, step: Step) -> dict[str, Any]:
    if step.status == "done":
        audit.record(db, user.office_id, audit_actor(user), "setup", "twilio", None, step=step.id)
        db.commit()
    return step.to_dict()


def _twilio_call(call: Any) -> Any:
    try:
        return call()
    except TwilioError as exc:
        code = status.HTTP_502_BAD_GATEWAY if exc.is_transient else status.HTTP_409_CONFLICT
        raise HTTPException(code, detail=str(exc)) from None


@router.get("/checks", responses=ADMIN_ONLY)
def setup_checks(request: Request, user: AdminUser, settings: SettingsDep) -> dict[str, Any]:
    """The doctor's report: every check with its id, status (ok/warning/failed/skipped), explanation and fix."""
    ctx = DoctorContext(settings, request.app.state.sessions, office_id=user.office_id)
    return run_doctor(ctx).to_dict()


@router.get("/banners")
def setup_banners(request: Request, user: CurrentUser) -> list[dict[str, str]]:
    """Low balance and certificate expiry, as staff pages show them (any signed-in user)."""
    return [b.to_dict() for b in current_banners(request.app, user.office_id)]


@router.get("/twilio", responses=ADMIN_ONLY)
def twilio_state(request: Request, user: AdminUser, db: DbDep, settings: SettingsDep) -> dict[str, Any]:
    """What is configured (never the secrets themselves) and the last signed test webhook received."""
    ctx = DoctorContext(settings, request.app.state.sessions, office_id=user.office_id)
    config = ctx.twilio
    receipt = last_receipt(db, user.office_id)
    return {
        "account_sid": config.account_sid,
        "auth_token_set": bool(config.auth_token),
        "phone_number": config.phone_number,
        "api_key": config.api_key,
        "api_secret_set": bool(config.api_secret),
        "public_url": config.public_url,
        "simulator": bool(config.base_url),
        "last_doctor_ping": {"at": receipt.at.isoformat(), "valid": receipt.detail == "valid"} if receipt else None,
    }


@router.post("/twilio/credentials", responses=_TWILIO_STEP)
def setup_credentials(request: Request, user: AdminUser, db: DbDep, body: Credentials) -> dict[str, Any]:
    """Check the Account SID and Auth Token with Twilio, then store them (the token encrypted)."""
    step = _twilio_call(_provisioner(request, user, db, body).credentials)
    return _done(db, user, step)


@router.get("/twilio/available-numbers", responses=_TWILIO_STEP)
def setup_available_numbers(
    request: Request,
    user: AdminUser,
    db: DbDep,
    area_code: Annotated[int | None, Query(ge=200, le=999)] = None,
    city: Annotated[str | None, Query(max_length=100)] = None,
) -> list[dict[str, Any]]:
    """Local numbers with SMS that the account could buy, by area code or city."""
    provisioner = _provisioner(request, user, db)
    return listed(_twilio_call(lambda: provisioner.search(area_code=area_code, city=city)))


@router.post("/twilio/number", responses=_TWILIO_STEP)
def setup_number(request: Request, user: AdminUser, db: DbDep, body: NumberChoice) -> dict[str, Any]:
    """Keep the configured number, adopt one the account owns, or buy the chosen one (never a second)."""
    provisioner = _provisioner(request, user, db)
    step = _twilio_call(lambda: provisioner.number(choice=body.phone_number, area_code=body.area_code, city=body.city))
    return _done(db, user, step)


@router.post("/twilio/webhooks", responses=_TWILIO_STEP)
def setup_webhooks(request: Request, user: AdminUser, db: DbDep) -> dict[str, Any]:
    """Point the number's SMS URL (GET) and voice URL at <public URL>/app_confirm."""
    return _done(db, user, _twilio_call(_provisioner(request, user, db).webhooks))


@router.post("/twilio/messaging-service", responses=_TWILIO_STEP)
def setup_messaging_service(request: Request, user: AdminUser, db: DbDep) -> dict[str, Any]:
    """Create (or adopt) the office's Messaging Service, set its URLs and add the office's numbers as senders."""
    return _done(db, user, _twilio_call(_provisioner(request, user, db).messaging_service))


def _registrar(request: Request, user: AdminUser, db: DbDep, body: Registering) -> Registrar:
    provisioner = _provisioner(request, user, db)
    return Registrar(
        provisioner.settings,
        provisioner.sessions,
        provisioner.gateway,
        office_id=user.office_id,
        confirm=lambda _fees: body.confirm_fees,
    )


@router.post("/twilio/register", responses=_TWILIO_STEP)
def setup_register(request: Request, user: AdminUser, db: DbDep, body: Registering) -> list[dict[str, Any]]:
    """Submit the office's carrier registration from its business profile (as `--register`). A step that costs
    money answers `action_needed` with the fees until `confirm_fees` is true."""
    steps = _registrar(request, user, db, body).run()
    return [_done(db, user, step) for step in steps]


@router.get("/twilio/registrations", responses=ADMIN_ONLY)
def setup_registrations(user: AdminUser, db: DbDep) -> list[dict[str, Any]]:
    """The office's registrations as last read from Twilio: state, Twilio's status and problems with their fix."""
    return [
        {
            "kind": r.kind,
            "subject": r.subject,
            "sid": r.twilio_sid,
            "twilio_status": r.twilio_status,
            "state": r.state,
            "submitted_at": r.submitted_at.isoformat() if r.submitted_at else None,
            "checked_at": r.checked_at.isoformat() if r.checked_at else None,
            "problems": [{**p, "fix": fix(p)} for p in r.problems or []],
        }
        for r in rows.of_office(db, user.office_id)
    ]


@router.post("/twilio/caller-ids", responses=_TWILIO_STEP)
def setup_caller_ids(request: Request, user: AdminUser, db: DbDep) -> dict[str, Any]:
    """Start caller-ID verification for each clinic phone not yet verified; returns the codes to type."""
    return _done(db, user, _twilio_call(_provisioner(request, user, db).caller_ids))


@router.post("/twilio/api-key", responses=_TWILIO_STEP)
def setup_api_key(request: Request, user: AdminUser, db: DbDep) -> dict[str, Any]:
    """Keep a working API key or create one; its secret is stored encrypted and never returned."""
    return _done(db, user, _twilio_call(_provisioner(request, user, db).api_key))


@router.post("/twilio/run", responses=_TWILIO_STEP)
def setup_run(request: Request, user: AdminUser, db: DbDep, settings: SettingsDep, body: SetupRun) -> dict[str, Any]:
    """Every step in order (as `reminders setup twilio --yes`; `carrier_registration` as `--register`), then the
    doctor's report."""
    provisioner = _provisioner(request, user, db, body)
    steps = _twilio_call(lambda: provisioner.run(choice=body.phone_number, area_code=body.area_code, city=body.city))
    if body.carrier_registration and steps[0].status != "failed":
        steps += _registrar(request, user, db, body).run()
    results = [_done(db, user, step) for step in steps]
    ctx = DoctorContext(settings, request.app.state.sessions, office_id=user.office_id)
    return {"steps": results, "report": run_doctor(ctx).to_dict()}
