"""The staff pages: server-rendered HTML under `/`, a session login, and static files under `/static`."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from . import (
    afterhours_pages,
    auth,
    booking_pages,
    broadcast_pages,
    clinics_pages,
    config_page,
    config_pms_codes,
    config_rules,
    dashboard,
    deliveries_page,
    followup_pages,
    inbox,
    operator_pages,
    patients_pages,
    registration_page,
    schedule,
    setup_page,
    unknown_numbers,
    waitlist_pages,
    writeback_pages,
)
from .rendering import STATIC_DIR

ROUTERS = (
    auth.router,
    schedule.router,
    booking_pages.router,
    unknown_numbers.router,  # before the inbox's /inbox/{patient_id}/...
    inbox.router,
    patients_pages.router,
    dashboard.router,
    clinics_pages.router,
    config_page.router,
    config_rules.router,
    config_pms_codes.router,
    followup_pages.router,
    registration_page.router,
    setup_page.router,
    writeback_pages.router,
    deliveries_page.router,
    waitlist_pages.router,
    operator_pages.router,
    broadcast_pages.router,
    afterhours_pages.router,
)


def install(app: FastAPI) -> None:
    """Registers the pages, their error handling (sign-in redirect, 403 pages) and `/static` on `app`."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")
    for router in ROUTERS:
        app.include_router(router)
    for exc_class, handler in auth.EXCEPTION_HANDLERS.items():
        app.add_exception_handler(exc_class, handler)
