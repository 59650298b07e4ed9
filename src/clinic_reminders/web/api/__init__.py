"""The JSON API: one router per resource, all behind a staff login."""

from fastapi import APIRouter, Depends
from fastapi.routing import APIRoute

from ..deps import get_current_user
from . import (
    appointments,
    broadcasts,
    clinics,
    conversations,
    events,
    followups,
    office,
    patients,
    pms_codes,
    providers,
    registration,
    rules,
    setup,
    staff_users,
    waitlist,
    writeback,
)


def _operation_id(route: APIRoute) -> str:
    """The handler's name (list_clinics, cancel_appointment...): readable in /openapi.json and generated clients."""
    return route.name


# Every route needs a signed-in user; routers add the admin check where it applies.
router = APIRouter(dependencies=[Depends(get_current_user)])
for _module in (
    clinics,
    providers,
    patients,
    appointments,
    office,
    registration,
    staff_users,
    conversations,
    events,
    rules,
    setup,
    writeback,
    pms_codes,
    waitlist,
    followups,
    broadcasts,
):
    router.include_router(_module.router, generate_unique_id_function=_operation_id)
