"""What runs beside the web app: the embedded dispatcher and write-back, and in demo mode the Twilio simulator."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select

from .. import accounts, demo_registration
from ..db import transaction
from ..dispatcher.supervisor import Dispatcher, Supervised
from ..dispatcher.worker import Worker
from ..models import Clinic, Patient, PatientPhone
from ..settings import Settings
from ..simulator import SimulatorConfig, create_simulator_app
from ..simulator.phone_book import PhoneBook
from ..writeback import engine as writeback

log = logging.getLogger(__name__)


def mount_demo_simulator(app: FastAPI, settings: Settings) -> None:
    """The fake Twilio at /simulator, owning the demo's number and pointing it at our /app_confirm."""
    assert settings.twilio_account_sid and settings.twilio_auth_token and settings.public_url
    with transaction(app.state.sessions) as db:
        clinic_phones = list(db.scalars(select(Clinic.phone)))
        registered = demo_registration.is_registered(db, accounts.the_office(db), settings.twilio_account_sid)
    config = SimulatorConfig.for_account(
        settings.twilio_account_sid,
        settings.twilio_auth_token.get_secret_value(),
        phone_numbers=[settings.twilio_phone_number or "+15005550006"],
        sms_url=f"{settings.public_url}/app_confirm",
        sms_method="GET",
        voice_url=f"{settings.public_url}/app_confirm",
        registered=False,  # carriers filter unregistered texts (30034), as they do for real
        registration="approved" if registered else "none",
        service_status_callback=f"{settings.public_url}/twilio/status",
        verified_caller_ids=clinic_phones,
        api_keys=(
            {settings.twilio_api_key: settings.twilio_api_secret.get_secret_value()}
            if settings.twilio_api_key and settings.twilio_api_secret
            else {}
        ),
    )
    simulator = create_simulator_app(config, _phone_book(app))
    app.mount("/simulator", simulator)
    app.state.demo_simulator = simulator


PHONE_HISTORY = Path("var") / "simulator-phones.json"


def _phone_book(app: FastAPI) -> PhoneBook:
    """The demo patients' names and the first clinic's clock for the phone page, and its history file."""
    sessions = app.state.sessions

    def names() -> dict[str, str]:
        with transaction(sessions) as db:
            rows = db.execute(select(PatientPhone.number, Patient.first_name, Patient.last_name).join(Patient))
            return {number: f"{first} {last}" for number, first, last in rows}

    with transaction(sessions) as db:
        zone = db.scalar(select(Clinic.timezone).order_by(Clinic.id).limit(1)) or "UTC"
    return PhoneBook(names=names, zone=zone, history_file=PHONE_HISTORY)


def lifespan(settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        running: list[tuple[Supervised, asyncio.Task[None]]] = []
        if settings.embedded_worker:
            # Each outlives database errors, and one that dies anyway is logged and replaced (see supervisor).
            dispatcher = Dispatcher(lambda: Worker(settings, app.state.sessions))
            running.append((dispatcher, asyncio.create_task(dispatcher.run(), name="dispatcher")))
            log.info("embedded dispatcher started")
            if settings.writeback:
                delivery = writeback.supervised(settings, app.state.sessions)
                running.append((delivery, asyncio.create_task(delivery.run(), name="write-back")))
        try:
            yield
        finally:
            for runner, _ in running:
                runner.stop()
            for _, task in running:
                await task
            for gateway in getattr(app.state, "gateways", {}).values():
                await gateway.aclose()
            simulator: Any = getattr(app.state, "demo_simulator", None)
            if simulator is not None:
                await simulator.simulator.aclose()  # mounted apps get no shutdown event of their own
                if simulator.phone_book is not None:
                    simulator.phone_book.save(simulator.simulator.store)

    return run
