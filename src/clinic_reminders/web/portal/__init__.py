"""The patient's page behind the reminder link (`/p/<token>`), the video join pages, and their staff endpoints."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Registers the patient pages, the video endpoints and pages, and the video status callback."""
    from ..webhooks.video_status import router as video_status
    from . import pages, staff

    app.include_router(pages.router)
    app.include_router(staff.api)
    app.include_router(staff.pages)
    app.include_router(video_status)
