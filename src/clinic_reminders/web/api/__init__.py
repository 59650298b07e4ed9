"""The JSON API: one router per resource, all behind a staff login."""

from fastapi import APIRouter, Depends

from ..deps import get_current_user
from . import appointments, clinics, office, patients, providers, staff_users

# Every route needs a signed-in user; routers add the admin check where it applies.
router = APIRouter(dependencies=[Depends(get_current_user)])
for _module in (clinics, providers, patients, appointments, office, staff_users):
    router.include_router(_module.router)
