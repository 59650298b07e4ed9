"""Write-back: where the office's events go (destinations) and how each got there (deliveries).

Everyone signed in reads them; admins change them, through `writeback.destinations`, which checks each kind's
settings and encrypts the secret (never returned; a webhook's signing secret is shown once, when it is made).
The payload receivers get is documented as the `writeback-event` webhook (`install_docs`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...crypto import SecretBox
from ...models import Delivery, DeliveryStatus, Destination, Office
from ...writeback import delivery_log, destinations, fhir_subscription
from ...writeback.destination_settings import shown, target
from ..deps import AdminUser, DbDep, OfficeDep, SettingsDep, audit_actor
from .errors import ADMIN_ONLY, CONFLICT, NOT_FOUND
from .lookups import get_or_404
from .pagination import Page, PageDep, paginate
from .schemas.common import RowId
from .schemas.writeback import (
    DeliveryRead,
    DeliveryStatusName,
    DestinationCreate,
    DestinationCreated,
    DestinationRead,
    DestinationSummary,
    DestinationUpdate,
    Resumed,
    SecretRotated,
    SubscriptionToken,
    TestResultRead,
)
from .schemas.writeback_event import WritebackEvent

router = APIRouter(prefix="/writeback", tags=["write-back"])


def summary(destination: Destination) -> DestinationSummary:
    return DestinationSummary.model_validate(_summary_fields(destination))


def _summary_fields(destination: Destination) -> dict[str, Any]:
    return {
        "id": destination.id,
        "name": destination.name,
        "kind": destination.kind,
        "target": target(destination.kind, destination.settings),
        "status": destinations.status_of(destination),
        "paused_reason": destination.paused_reason,
        "last_result": destination.last_result,
        "last_result_at": destination.last_result_at,
    }


def destination_read(destination: Destination, counts: dict[str, int]) -> DestinationRead:
    return DestinationRead.model_validate(
        {
            **_summary_fields(destination),
            "settings": shown(destination.settings),
            "secret_saved": destination.secret_encrypted is not None,
            "enabled": destination.enabled,
            "paused_at": destination.paused_at,
            "pending": counts.get(DeliveryStatus.PENDING, 0),
            "failed": counts.get(DeliveryStatus.FAILED, 0),
            "created_at": destination.created_at,
            "updated_at": destination.updated_at,
        }
    )


def office_destinations(db: Session, office: Office) -> list[DestinationSummary]:
    rows = db.scalars(select(Destination).where(Destination.office_id == office.id).order_by(Destination.id))
    return [summary(row) for row in rows]


def _read(db: Session, destination: Destination) -> DestinationRead:
    return destination_read(destination, destinations.counts(db, destination.office_id).get(destination.id, {}))


def _box(settings: SettingsDep) -> SecretBox:
    return SecretBox(settings.secret_key_value)


@router.get("/destinations", summary="List write-back destinations")
def list_destinations(db: DbDep, office: OfficeDep, page: PageDep) -> Page[DestinationRead]:
    counts = destinations.counts(db, office.id)
    stmt = select(Destination).where(Destination.office_id == office.id).order_by(Destination.id)
    return paginate(db, stmt, page, lambda d: destination_read(d, counts.get(d.id, {})))


@router.post(
    "/destinations",
    status_code=201,
    responses={**ADMIN_ONLY, **CONFLICT},
    summary="Add a destination (admin)",
    description="A webhook's signing secret is made now and returned in `secret` this once.",
)
def create_destination(
    body: DestinationCreate, db: DbDep, office: OfficeDep, settings: SettingsDep, user: AdminUser
) -> DestinationCreated:
    saved = destinations.create(
        db,
        office.id,
        name=body.name,
        kind=body.kind,
        settings=body.settings,
        secret=body.secret.get_secret_value() if body.secret else None,
        enabled=body.enabled,
        box=_box(settings),
        actor=audit_actor(user),
    )
    db.commit()
    read = _read(db, saved.destination)
    return DestinationCreated.model_validate({**read.model_dump(), "secret": saved.secret})


@router.get("/destinations/{destination_id}", responses=NOT_FOUND, summary="Read a destination")
def read_destination(destination_id: RowId, db: DbDep, office: OfficeDep) -> DestinationRead:
    return _read(db, get_or_404(db, Destination, destination_id, office, "destination"))


@router.patch(
    "/destinations/{destination_id}",
    responses={**NOT_FOUND, **ADMIN_ONLY, **CONFLICT},
    summary="Change a destination (admin)",
)
def update_destination(
    destination_id: RowId, body: DestinationUpdate, db: DbDep, office: OfficeDep, settings: SettingsDep, user: AdminUser
) -> DestinationRead:
    destination = get_or_404(db, Destination, destination_id, office, "destination")
    destinations.change(
        db,
        destination,
        box=_box(settings),
        actor=audit_actor(user),
        name=body.name,
        settings=body.settings,
        secret=body.secret.get_secret_value() if body.secret else None,
        enabled=body.enabled,
    )
    db.commit()
    return _read(db, destination)


@router.delete(
    "/destinations/{destination_id}",
    status_code=204,
    responses={**NOT_FOUND, **ADMIN_ONLY},
    summary="Delete a destination and its deliveries (admin)",
)
def delete_destination(destination_id: RowId, db: DbDep, office: OfficeDep, user: AdminUser) -> Response:
    destinations.remove(db, get_or_404(db, Destination, destination_id, office, "destination"), audit_actor(user))
    db.commit()
    return Response(status_code=204)


@router.post(
    "/destinations/{destination_id}/test",
    responses={**NOT_FOUND, **ADMIN_ONLY},
    summary="Send a test event now (admin)",
    description="Sends a `writeback.test` event about nobody and waits up to 10 s for the answer, which is kept as "
    "the destination's last result. A destination that fails answers 200 with `ok: false` and the reason.",
)
def test_destination(
    destination_id: RowId, db: DbDep, office: OfficeDep, settings: SettingsDep, user: AdminUser
) -> TestResultRead:
    destination = get_or_404(db, Destination, destination_id, office, "destination")
    result = destinations.send_test(db, destination, _box(settings), audit_actor(user))
    db.commit()
    return TestResultRead(ok=result.ok, result=result.result, at=result.at)


@router.post(
    "/destinations/{destination_id}/rotate-secret",
    responses={**NOT_FOUND, **ADMIN_ONLY, **CONFLICT},
    summary="Make a webhook's new signing secret (admin)",
    description="Returned this once; the old secret stops working at once. Only for webhooks (409 otherwise).",
)
def rotate_secret(
    destination_id: RowId, db: DbDep, office: OfficeDep, settings: SettingsDep, user: AdminUser
) -> SecretRotated:
    destination = get_or_404(db, Destination, destination_id, office, "destination")
    secret = destinations.rotate_secret(db, destination, _box(settings), audit_actor(user))
    db.commit()
    return SecretRotated(secret=secret)


@router.post(
    "/destinations/{destination_id}/subscription-token",
    responses={**NOT_FOUND, **ADMIN_ONLY, **CONFLICT},
    summary="Make a FHIR destination's Subscription token (admin)",
    description="For the FHIR server's Subscription (rest-hook) that sends Appointments as they change. Returned "
    "this once with the endpoint to give the Subscription; the old token stops working. FHIR only (409 otherwise).",
)
def subscription_token(
    destination_id: RowId, request: Request, db: DbDep, office: OfficeDep, settings: SettingsDep, user: AdminUser
) -> SubscriptionToken:
    destination = get_or_404(db, Destination, destination_id, office, "destination")
    token = fhir_subscription.new_token(db, destination, audit_actor(user))
    db.commit()
    public = settings.public_url or office.public_url or str(request.base_url)
    return SubscriptionToken(token=token, endpoint=fhir_subscription.endpoint(public, destination.id))


@router.post(
    "/destinations/{destination_id}/resume",
    responses={**NOT_FOUND, **ADMIN_ONLY},
    summary="Resume a paused destination (admin)",
)
def resume_destination(
    destination_id: RowId,
    db: DbDep,
    office: OfficeDep,
    user: AdminUser,
    retry_failed: Annotated[
        bool, Query(description="Also send its failed deliveries again, each with a new retry window.")
    ] = True,
) -> Resumed:
    destination = get_or_404(db, Destination, destination_id, office, "destination")
    again = destinations.resume(db, destination, audit_actor(user), retry_failed=retry_failed)
    db.commit()
    return Resumed(destination=_read(db, destination), sent_again=again)


def _delivery_read(row: delivery_log.DeliveryRow) -> DeliveryRead:
    d = row.delivery
    return DeliveryRead(
        id=d.id,
        destination_id=d.destination_id,
        destination_name=row.destination_name,
        event_id=d.event_id,
        event_type=row.event_type,
        appointment_id=d.appointment_id,
        status=d.status,
        attempts=d.attempts,
        last_error=d.last_error,
        next_attempt_at=d.next_attempt_at if d.status == DeliveryStatus.PENDING else None,
        first_attempt_at=d.first_attempt_at,
        delivered_at=d.delivered_at,
        created_at=d.created_at,
    )


@router.get(
    "/deliveries",
    summary="Deliveries, newest first",
    description="Each event on its way to each destination: pending (waiting for its turn or its next attempt), "
    "delivered, or failed (given up after the retry window; POST .../retry sends it again).",
)
def list_deliveries(
    db: DbDep,
    office: OfficeDep,
    page: PageDep,
    status: Annotated[DeliveryStatusName | None, Query(description="Only deliveries in this status.")] = None,
    destination_id: Annotated[RowId | None, Query(description="Only deliveries to this destination.")] = None,
) -> Page[DeliveryRead]:
    rows, total = delivery_log.recent(
        db, office.id, status=status, destination_id=destination_id, limit=page.limit, offset=page.offset
    )
    items = [_delivery_read(r) for r in rows]
    return Page[DeliveryRead](items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(
    "/deliveries/{delivery_id}/retry",
    responses={**NOT_FOUND, **ADMIN_ONLY, **CONFLICT},
    summary="Send a delivery again (admin)",
    description="A failed or pending delivery is tried again at once, with a new retry window; 409 if delivered.",
)
def retry_delivery(delivery_id: RowId, db: DbDep, office: OfficeDep, user: AdminUser) -> DeliveryRead:
    delivery = get_or_404(db, Delivery, delivery_id, office, "delivery")
    destinations.retry_delivery(db, delivery, office.id, audit_actor(user))
    db.commit()
    return _delivery_read(delivery_log.row(db, delivery))


# The payload as receivers get it: /openapi.json's `webhooks`, with the Standard Webhooks headers.
webhooks = APIRouter()
_SIGNATURE_DOC = (
    "Space-separated signatures `v1,<base64>`: HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}`, keyed "
    "with the base64-decoded part of the destination's secret after `whsec_`. The specification allows more than "
    "one: accept the message when any one matches. The `standardwebhooks` library checks it: "
    "`Webhook(secret).verify(body, headers)`."
)


@webhooks.post(
    "writeback-event",
    operation_id="writeback_event",
    summary="An event of the office, to a webhook destination",
    tags=["write-back"],
)
def writeback_event(
    body: WritebackEvent,
    webhook_id: Annotated[
        str, Header(alias="webhook-id", description="The event's id (`id`), the same on every retry: de-duplicate.")
    ],
    webhook_timestamp: Annotated[
        str,
        Header(
            alias="webhook-timestamp",
            description="When this attempt was signed, in Unix seconds: refuse one far from your clock (a replay).",
        ),
    ],
    webhook_signature: Annotated[str, Header(alias="webhook-signature", description=_SIGNATURE_DOC)],
) -> None:
    """Signed JSON, POSTed to the destination's URL following the Standard Webhooks specification, for every
    event the destination takes (its `event_types`), in event order per appointment. Any 2xx answer takes it;
    another answer or none within the timeout is tried again later, with exponential backoff for up to three
    days, then the destination is paused and the office's admins are alerted. A `writeback.test` event ("Send a
    test event") is about nobody: answer it and change nothing. (This declares the request for /openapi.json;
    the delivery engine sends it.)"""


_WEBHOOK_RESPONSES = {
    "2XX": {"description": "Taken: the event counts as delivered."},
    "default": {"description": "Not taken: sent again later, in order, until the retry window ends."},
}


def install_docs(app: FastAPI) -> None:
    """Adds `writeback-event` to /openapi.json's webhooks. A receiver answers no body of ours: FastAPI's own
    responses (its 422 included) give way to what the engine makes of an answer."""
    app.webhooks.include_router(webhooks)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        for operations in schema.get("webhooks", {}).values():
            for operation in operations.values():
                operation["responses"] = _WEBHOOK_RESPONSES
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # idempotent on FastAPI's cache
