"""Deliveries: each event on its way to each write-back destination, newest first, with its status, attempts,
last error and next attempt. Everyone signed in sees them; admins "Send again" (`destinations.retry_delivery`)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from ...models import Delivery, DeliveryStatus, Destination
from ...writeback import delivery_log, destinations
from ..deps import DbDep, audit_actor
from .auth import AdminPage, PageUser
from .csrf import check_csrf
from .forms import call, form_fields
from .rendering import flash, render
from .zones import office_zone

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

PER_PAGE = 50
STATUS_WORDS = {
    DeliveryStatus.PENDING: "Pending",
    DeliveryStatus.DELIVERED: "Delivered",
    DeliveryStatus.FAILED: "Failed",
}


def _query(status: str | None, destination_id: int | None) -> str:
    kept = {"status": status, "destination_id": destination_id}
    return urlencode({k: v for k, v in kept.items() if v})


@router.get("/deliveries", response_class=HTMLResponse)
def deliveries_page(
    request: Request,
    db: DbDep,
    user: PageUser,
    status: str | None = None,
    destination_id: Annotated[str | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    status = status if status in set(DeliveryStatus) else None
    dest_id = int(destination_id) if destination_id and destination_id.isdigit() else None
    rows, total = delivery_log.recent(
        db, user.office_id, status=status, destination_id=dest_id, limit=PER_PAGE, offset=(page - 1) * PER_PAGE
    )
    office_destinations = list(
        db.scalars(select(Destination).where(Destination.office_id == user.office_id).order_by(Destination.name))
    )
    query = _query(status, dest_id)
    context = {
        "title": "Deliveries",
        "section": "deliveries",
        "rows": rows,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PER_PAGE)),
        "base": f"/deliveries?{query}&" if query else "/deliveries?",
        "back": f"/deliveries?{query}" if query else "/deliveries",
        "status": status,
        "destination_id": dest_id,
        "destinations": office_destinations,
        "paused": [d for d in office_destinations if d.paused_at is not None],
        "status_words": STATUS_WORDS,
        "zone": office_zone(db, user.office_id),
    }
    return render(request, "deliveries.html", context, user=user, db=db)


@router.post("/deliveries/{delivery_id:int}/retry")
async def retry_delivery(request: Request, delivery_id: int, db: DbDep, user: AdminPage) -> Response:
    back = (await form_fields(request)).get("back", "")
    back = back if back.startswith("/deliveries") and not back.startswith("/deliveries/") else "/deliveries"
    delivery = db.get(Delivery, delivery_id)
    if delivery is None or delivery.office_id != user.office_id:
        context = {"title": "Not found", "message": "No such delivery in your office."}
        return render(request, "error.html", context, user=user, status_code=404)
    _, errors = call(destinations.retry_delivery, db, delivery, user.office_id, audit_actor(user))
    if errors:
        db.rollback()
        flash(request, f"Delivery {delivery_id} not sent again: {next(iter(errors.values()))}.", "error")
    else:
        db.commit()
        flash(request, f"Delivery {delivery_id} is sent again as soon as its turn comes.")
    return RedirectResponse(back, status_code=303)
