"""Write-back destinations (admins), linked from the configuration page: list, add and edit per kind, send a test
event, rotate a webhook's secret, resume a paused one, delete.

Saved by `writeback.destinations`, as the JSON API saves them: the same checks per kind, the same encryption. A
secret is write-only (an empty box keeps it); a webhook's new signing secret is shown on the page that answers its
creation or rotation, and never again. Nothing secret goes through the session cookie or a redirect.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...crypto import SecretBox
from ...models import Destination, DestinationKind, Office, StaffUser
from ...writeback import destinations, fhir_subscription
from ...writeback.destination_settings import (
    EVENT_TYPES,
    FHIR_AUTH,
    KIND_NAMES,
    OPT_OUT_MESSAGES,
    SMART_ALGORITHMS,
    SMART_FIELDS,
    SUBSCRIPTION_TOKEN,
    target,
)
from ...writeback.hl7_out import VERSIONS as HL7_VERSIONS
from ..api.writeback import summary
from ..deps import DbDep, SettingsDep, audit_actor
from .auth import AdminPage
from .csrf import check_csrf
from .forms import FieldErrors, call, checkbox, form_fields
from .rendering import flash, render
from .zones import office_zone

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

HOME = "/config/writeback"
KIND_TITLES = {
    DestinationKind.WEBHOOK: "Signed webhook (JSON over HTTPS)",
    DestinationKind.HL7: "HL7 v2 over MLLP (the PMS's interface engine)",
    DestinationKind.FHIR: "FHIR R4 server",
}
STATUS_WORDS = {"active": "Active", "paused": "Paused", "disabled": "Turned off"}
PLAIN_FIELDS = {
    DestinationKind.WEBHOOK: ("url",),
    DestinationKind.HL7: (
        "host",
        "port",
        "ca_certificate",
        "sending_application",
        "sending_facility",
        "receiving_application",
        "receiving_facility",
        "opt_out_message",
        "ack_timeout",
        "version",
        "assigning_authority",
    ),
    DestinationKind.FHIR: ("base_url", "auth", *SMART_FIELDS),
}


def _box(request: Request) -> SecretBox:
    return SecretBox(request.app.state.settings.secret_key_value)


def _not_found(request: Request, user: StaffUser) -> Response:
    context = {"title": "Not found", "message": "No such write-back destination in your office."}
    return render(request, "error.html", context, user=user, status_code=404)


def _destination(db: Session, user: StaffUser, destination_id: int) -> Destination | None:
    row = db.get(Destination, destination_id)
    return row if row is not None and row.office_id == user.office_id else None


def summary_context(db: Session, office_id: int) -> dict[str, Any]:
    """What the configuration page's write-back section (`_writeback_section.html`) shows."""
    rows = db.scalars(select(Destination).where(Destination.office_id == office_id).order_by(Destination.id))
    return {"writeback_summary": [summary(row) for row in rows]}


@router.get(HOME, response_class=HTMLResponse)
def destinations_page(request: Request, db: DbDep, user: AdminPage) -> Response:
    rows = list(db.scalars(select(Destination).where(Destination.office_id == user.office_id).order_by(Destination.id)))
    context = {
        "title": "Write-back",
        "section": "config",
        "destinations": rows,
        "counts": destinations.counts(db, user.office_id),
        "zone": office_zone(db, user.office_id),
        "kinds": KIND_TITLES,
        "kind_names": KIND_NAMES,
        "status_of": destinations.status_of,
        "status_words": STATUS_WORDS,
        "target": target,
    }
    return render(request, "writeback.html", context, user=user, db=db)


def _form_values(destination: Destination) -> dict[str, Any]:
    values: dict[str, Any] = {"name": destination.name, "enabled": destination.enabled, **destination.settings}
    values["event_types"] = destination.settings.get("event_types") or []
    return values


def _show_form(
    request: Request,
    db: Session,
    user: StaffUser,
    kind: DestinationKind,
    destination: Destination | None,
    values: dict[str, Any],
    errors: FieldErrors,
) -> Response:
    context = {
        "title": f"Edit “{destination.name}”" if destination else f"Add a destination: {KIND_NAMES[kind]}",
        "section": "config",
        "kind": kind.value,
        "kind_title": KIND_TITLES[kind],
        "destination": destination,
        "v": values,
        "errors": errors,
        "event_types": EVENT_TYPES,
        "opt_out_messages": OPT_OUT_MESSAGES,
        "hl7_versions": [(version, version) for version in HL7_VERSIONS],
        "fhir_auth": FHIR_AUTH,
        "algorithms": SMART_ALGORITHMS,
    }
    return render(request, "writeback_form.html", context, user=user, db=db, status_code=422 if errors else 200)


@router.get(HOME + "/new", response_class=HTMLResponse)
def new_destination(request: Request, db: DbDep, user: AdminPage, kind: str = "webhook") -> Response:
    the_kind = DestinationKind(kind) if kind in set(DestinationKind) else DestinationKind.WEBHOOK
    defaults = {"enabled": True, "event_types": [], "port": 2575, "ack_timeout": 30, "auth": "bearer"}
    return _show_form(request, db, user, the_kind, None, defaults, {})


@router.get(HOME + "/{destination_id:int}", response_class=HTMLResponse)
def edit_destination(request: Request, destination_id: int, db: DbDep, user: AdminPage) -> Response:
    destination = _destination(db, user, destination_id)
    if destination is None:
        return _not_found(request, user)
    return _show_form(request, db, user, DestinationKind(destination.kind), destination, _form_values(destination), {})


def _settings_of(
    kind: DestinationKind, data: dict[str, str], event_types: list[str], saved: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The form as the service takes settings: boxes as typed, ticks as booleans, no ticked event type = every.
    An HL7 destination's `filler_status` table is set through the API only; the form keeps the saved one."""
    settings: dict[str, Any] = {name: data.get(name, "") for name in PLAIN_FIELDS[kind]}
    if kind is DestinationKind.HL7:
        settings["tls"] = checkbox(data, "tls")
        settings["filler_status"] = (saved or {}).get("filler_status")
    else:
        settings["event_types"] = event_types or None
    if kind is DestinationKind.FHIR and settings["auth"] != "smart":
        for name in SMART_FIELDS:
            settings.pop(name)
    return settings


def _secret_of(kind: DestinationKind, data: dict[str, str]) -> str | None:
    if kind is not DestinationKind.FHIR:
        return None
    return data.get("private_key" if data.get("auth") == "smart" else "token", "").strip() or None


def _form_errors(errors: FieldErrors, data: dict[str, str]) -> FieldErrors:
    """The service names `settings.url` and `secret`; the form's boxes are `url`, `token` and `private_key`."""
    secret_box = "private_key" if data.get("auth") == "smart" else "token"
    renamed = {"secret": secret_box, "kind": "form"}
    return {renamed.get(f, f.removeprefix("settings.")): message for f, message in errors.items()}


def _typed(data: dict[str, str], event_types: list[str]) -> dict[str, Any]:
    """A refused form as it was filled in, but for the secret boxes, which are never sent back."""
    values: dict[str, Any] = {k: v for k, v in data.items() if k not in ("token", "private_key")}
    return {**values, "event_types": event_types, "enabled": checkbox(data, "enabled"), "tls": checkbox(data, "tls")}


def _secret_page(
    request: Request,
    db: Session,
    user: StaffUser,
    destination: Destination,
    secret: str,
    *,
    rotated: bool,
    endpoint: str | None = None,
) -> Response:
    """A secret shown this once: a webhook's signing secret, or (with its `endpoint`) a FHIR Subscription token."""
    title = "The FHIR Subscription's token" if endpoint else "The webhook's signing secret"
    context = {"title": title, "section": "config", "destination": destination, "endpoint": endpoint}
    context["rotated"] = rotated
    response = render(request, "writeback_secret.html", {**context, "secret": secret}, user=user, db=db)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post(HOME + "/new", response_class=HTMLResponse)
async def create_destination(request: Request, db: DbDep, user: AdminPage) -> Response:
    form = await request.form()
    data = await form_fields(request)
    kind = DestinationKind(data["kind"]) if data.get("kind") in set(DestinationKind) else DestinationKind.WEBHOOK
    event_types = [v for v in form.getlist("event_types") if isinstance(v, str)]
    saved, errors = call(
        destinations.create,
        db,
        user.office_id,
        name=data.get("name", ""),
        kind=kind.value,
        settings=_settings_of(kind, data, event_types),
        secret=_secret_of(kind, data),
        enabled=checkbox(data, "enabled"),
        box=_box(request),
        actor=audit_actor(user),
    )
    if saved is None:
        db.rollback()
        return _show_form(request, db, user, kind, None, _typed(data, event_types), _form_errors(errors, data))
    db.commit()
    if saved.secret is not None:
        return _secret_page(request, db, user, saved.destination, saved.secret, rotated=False)
    flash(request, f"Destination “{saved.destination.name}” added. Send it a test event to check the connection.")
    return RedirectResponse(f"{HOME}#destination-{saved.destination.id}", status_code=303)


@router.post(HOME + "/{destination_id:int}", response_class=HTMLResponse)
async def save_destination(request: Request, destination_id: int, db: DbDep, user: AdminPage) -> Response:
    destination = _destination(db, user, destination_id)
    if destination is None:
        return _not_found(request, user)
    kind = DestinationKind(destination.kind)
    form = await request.form()
    data = await form_fields(request)
    event_types = [v for v in form.getlist("event_types") if isinstance(v, str)]
    changed, errors = call(
        destinations.change,
        db,
        destination,
        box=_box(request),
        actor=audit_actor(user),
        name=data.get("name", ""),
        settings=_settings_of(kind, data, event_types, saved=destination.settings),
        secret=_secret_of(kind, data),
        enabled=checkbox(data, "enabled"),
    )
    if changed is None:
        db.rollback()
        return _show_form(request, db, user, kind, destination, _typed(data, event_types), _form_errors(errors, data))
    db.commit()
    flash(request, f"Destination “{destination.name}” saved." if changed else "Nothing changed.")
    return RedirectResponse(f"{HOME}#destination-{destination.id}", status_code=303)


@router.post(HOME + "/{destination_id:int}/test")
def test_destination(
    request: Request, destination_id: int, db: DbDep, settings: SettingsDep, user: AdminPage
) -> Response:
    """A plain `def`: the destination is waited for (up to 10 s) in the threadpool, never on the event loop."""
    destination = _destination(db, user, destination_id)
    if destination is None:
        return _not_found(request, user)
    result = destinations.send_test(db, destination, SecretBox(settings.secret_key_value), audit_actor(user))
    db.commit()
    if result.ok:
        flash(request, f"Test event sent to “{destination.name}”: {result.result}")
    else:
        flash(request, f"The test event to “{destination.name}” did not arrive. {result.result}", "error")
    return RedirectResponse(f"{HOME}#destination-{destination.id}", status_code=303)


@router.post(HOME + "/{destination_id:int}/rotate-secret", response_class=HTMLResponse)
def rotate_secret(request: Request, destination_id: int, db: DbDep, settings: SettingsDep, user: AdminPage) -> Response:
    destination = _destination(db, user, destination_id)
    if destination is None:
        return _not_found(request, user)
    secret, errors = call(
        destinations.rotate_secret, db, destination, SecretBox(settings.secret_key_value), audit_actor(user)
    )
    if secret is None:
        db.rollback()
        flash(request, next(iter(errors.values())), "error")
        return RedirectResponse(f"{HOME}#destination-{destination.id}", status_code=303)
    db.commit()
    return _secret_page(request, db, user, destination, secret, rotated=True)


@router.post(HOME + "/{destination_id:int}/subscription-token", response_class=HTMLResponse)
def subscription_token(
    request: Request, destination_id: int, db: DbDep, settings: SettingsDep, user: AdminPage
) -> Response:
    destination = _destination(db, user, destination_id)
    if destination is None:
        return _not_found(request, user)
    had_one = SUBSCRIPTION_TOKEN in destination.settings
    token, errors = call(fhir_subscription.new_token, db, destination, audit_actor(user))
    if token is None:
        db.rollback()
        flash(request, next(iter(errors.values())), "error")
        return RedirectResponse(f"{HOME}#destination-{destination.id}", status_code=303)
    db.commit()
    office = db.get(Office, destination.office_id)
    public = settings.public_url or (office.public_url if office else None) or str(request.base_url)
    endpoint = fhir_subscription.endpoint(public, destination.id)
    return _secret_page(request, db, user, destination, token, rotated=had_one, endpoint=endpoint)


@router.post(HOME + "/{destination_id:int}/enabled")
async def switch_destination(request: Request, destination_id: int, db: DbDep, user: AdminPage) -> Response:
    destination = _destination(db, user, destination_id)
    if destination is None:
        return _not_found(request, user)
    enabled = checkbox(await form_fields(request), "enabled")
    destinations.set_enabled(db, destination, enabled, audit_actor(user))
    db.commit()
    words = "is on again: new events go to it" if enabled else "is turned off: nothing new goes to it"
    flash(request, f"Destination “{destination.name}” {words}.")
    return RedirectResponse(f"{HOME}#destination-{destination.id}", status_code=303)


@router.post(HOME + "/{destination_id:int}/resume")
async def resume_destination(request: Request, destination_id: int, db: DbDep, user: AdminPage) -> Response:
    destination = _destination(db, user, destination_id)
    if destination is None:
        return _not_found(request, user)
    retry = checkbox(await form_fields(request), "retry_failed")
    again = destinations.resume(db, destination, audit_actor(user), retry_failed=retry)
    db.commit()
    tail = f" {again} failed deliver{'y is' if again == 1 else 'ies are'} sent again." if again else ""
    flash(request, f"Destination “{destination.name}” resumed.{tail}")
    return RedirectResponse(f"{HOME}#destination-{destination.id}", status_code=303)


@router.get(HOME + "/{destination_id:int}/delete", response_class=HTMLResponse)
def confirm_delete(request: Request, destination_id: int, db: DbDep, user: AdminPage) -> Response:
    destination = _destination(db, user, destination_id)
    if destination is None:
        return _not_found(request, user)
    counts = destinations.counts(db, user.office_id).get(destination.id, {})
    context = {"title": f"Delete “{destination.name}”?", "section": "config", "destination": destination}
    return render(request, "writeback_delete.html", {**context, "deliveries": sum(counts.values())}, user=user, db=db)


@router.post(HOME + "/{destination_id:int}/delete")
def delete_destination(request: Request, destination_id: int, db: DbDep, user: AdminPage) -> Response:
    destination = _destination(db, user, destination_id)
    if destination is None:
        return _not_found(request, user)
    name = destination.name
    destinations.remove(db, destination, audit_actor(user))
    db.commit()
    flash(request, f"Destination “{name}” deleted, with its deliveries.")
    return RedirectResponse(HOME, status_code=303)
