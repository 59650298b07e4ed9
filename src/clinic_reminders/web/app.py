"""The application factory: one FastAPI app with the API, webhooks and pages, built from settings."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine
from starlette.middleware.sessions import SessionMiddleware

from .. import __version__
from ..crypto import signing_key
from ..db import make_engine, make_sessionmaker
from ..settings import Settings
from . import fhir_subscription, health, lifecycle, metrics
from .access_log import AccessLog
from .admin import error_pages
from .admin import install as install_pages
from .api import errors as api_errors
from .api import router as api_router
from .api import writeback as writeback_api
from .portal import install as install_portal
from .webhooks import app_confirm, doctor_ping, status
from .webhooks import database as webhook_database

log = logging.getLogger(__name__)


async def _api_docs(_request: Request) -> HTMLResponse:
    """Swagger UI over /openapi.json, from the copies `make assets` puts in /static/vendor (works offline)."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="clinic-reminders API",
        swagger_js_url="/static/vendor/swagger-ui-bundle.js",
        swagger_css_url="/static/vendor/swagger-ui.css",
        swagger_favicon_url="/static/vendor/swagger-favicon.png",
    )


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    settings.check_secret_key()
    app = FastAPI(
        title="clinic-reminders",
        version=__version__,
        description="Appointment reminders for medical offices, on Twilio.",
        docs_url=None,  # served below from /static/vendor: Swagger UI's default loads from a CDN
        redoc_url=None,
        lifespan=lifecycle.lifespan(settings),
    )
    engine = engine or make_engine(settings.database_url)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = make_sessionmaker(engine)
    webhook_database.install(app, engine)

    app.add_middleware(
        SessionMiddleware,
        secret_key=signing_key(settings.secret_key_value, "session").hex(),
        session_cookie="reminders_session",
        max_age=settings.session_max_age,
        same_site="lax",
        https_only=settings.http_type == "https",
    )
    app.add_middleware(AccessLog)
    api_errors.install(app)  # one error body everywhere; the pages add their own for sign-in and CSRF
    error_pages.install(app)  # in front of those: HTML for the staff pages, the API's error body for the rest
    # Twilio's webhooks first: routes are tried in order, and these carry the traffic that must answer fast.
    app.include_router(app_confirm.router)
    app.include_router(status.router)
    app.include_router(doctor_ping.router)  # the doctor's signed test webhook; runs the balance/certificate watch
    app.include_router(fhir_subscription.router)  # a FHIR server's Subscription notifications (token in the header)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.add_route("/api/docs", _api_docs, include_in_schema=False)
    app.include_router(api_router, prefix="/api")
    install_pages(app)  # staff pages (session login) and /static
    install_portal(app)  # patient links /p/..., video visits and their status callbacks
    writeback_api.install_docs(app)  # the payload receivers get, as /openapi.json's webhooks
    api_errors.document(app)
    if settings.demo and settings.twilio_api_base_url and "/simulator" in settings.twilio_api_base_url:
        lifecycle.mount_demo_simulator(app, settings)
    return app


def app_from_environment() -> FastAPI:
    """Uvicorn's factory for `reminders serve`: settings from the environment, refused if unsafe."""
    return create_app(Settings())
