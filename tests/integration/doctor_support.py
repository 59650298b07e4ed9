"""Shared by the doctor and set-up tests: a healthy simulated account, the office that goes with it, a check
subset with its dependencies, and our service served on a free port (for the signed test webhook)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders.doctor import ALL_CHECKS, Check, Report, run_doctor
from clinic_reminders.doctor.context import DoctorContext
from clinic_reminders.models import Office
from clinic_reminders.settings import Settings
from clinic_reminders.simulator import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, NumberConfig, SimulatorConfig
from clinic_reminders.tls import uvicorn_ssl_context
from clinic_reminders.web.app import create_app
from tests.conftest import TEST_SECRET_KEY
from tests.factories import make_clinic, make_office
from tests.fixtures.simulator import LateApp, SimulatorClient, ThreadedServer, free_port

SID, TOKEN = DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
NUMBER = "+14155550100"
KEY_SID, KEY_SECRET = "SK" + "ab" * 16, "key-secret-0123456789abcdef-012345"
CLINIC_PHONES = ("+12125550100", "+12125550101")
PUBLIC = "https://clinic.example.com:8443"


def healthy_config(public: str = PUBLIC, **account: Any) -> SimulatorConfig:
    """A Full account with money, the number pointed at us (SMS GET), both clinic phones verified, a key."""
    config = SimulatorConfig.for_account(
        SID,
        TOKEN,
        phone_numbers=[NUMBER],
        sms_url=f"{public}/app_confirm",
        sms_method="GET",
        voice_url=f"{public}/app_confirm",
        verified_caller_ids=list(CLINIC_PHONES),
        api_keys={KEY_SID: KEY_SECRET},
        balance="50.00",
        callback_delay_ms=5,
    )
    for name, value in account.items():
        setattr(config.accounts[0], name, value)
    return config


def number(**changes: Any) -> list[NumberConfig]:
    url = f"{PUBLIC}/app_confirm"
    fields: dict[str, Any] = {"sms_url": url, "sms_method": "GET", "voice_url": url, **changes}
    return [NumberConfig(NUMBER, **fields)]


def make_office_with_clinics(db: Session) -> Office:
    office = make_office(db)
    for index, phone in enumerate(CLINIC_PHONES):
        make_clinic(db, office, name=f"Clinic {index + 1}", phone=phone)
    db.commit()
    return office


def settings_for(simulator: SimulatorClient, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "secret_key": TEST_SECRET_KEY,
        "public_url": PUBLIC,
        "twilio_account_sid": SID,
        "twilio_auth_token": TOKEN,
        "twilio_phone_number": NUMBER,
        "twilio_api_key": KEY_SID,
        "twilio_api_secret": KEY_SECRET,
        "twilio_api_base_url": simulator.base_url,
        "embedded_worker": False,
    }
    values.update(overrides)
    return Settings(**{k: v for k, v in values.items() if v is not None})


def only(*ids: str) -> list[Check]:
    """These checks and everything they depend on."""
    by_id = {c.id: c for c in ALL_CHECKS}
    wanted, stack = set(ids), list(ids)
    while stack:
        for dependency in by_id[stack.pop()].depends_on:
            if dependency not in wanted:
                wanted.add(dependency)
                stack.append(dependency)
    return [c for c in ALL_CHECKS if c.id in wanted]


def doctor(settings: Settings, sessions: sessionmaker[Session] | None, *ids: str, **context: Any) -> Report:
    ctx = DoctorContext(settings, sessions, probe_timeout=3.0, **context)
    return run_doctor(ctx, only(*ids) if ids else None)


@contextmanager
def served(make_settings: Callable[[str], Settings]) -> Iterator[str]:
    """Our service on a free port; `make_settings(public_url)` configures it. Yields the public URL."""
    holder = LateApp()
    server = ThreadedServer(holder)
    holder.app = create_app(make_settings(server.url))
    with server:
        yield server.url


@contextmanager
def served_tls(make_settings: Callable[[str], Settings], certfile: str, keyfile: str) -> Iterator[str]:
    """Our service over HTTPS (TLS 1.2+, as `reminders serve --certfile` runs it) on a free loopback port."""
    port = free_port()
    public = f"https://127.0.0.1:{port}"
    config = uvicorn.Config(
        create_app(make_settings(public)),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
        ssl_context_factory=uvicorn_ssl_context,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the HTTPS test server did not start")
        time.sleep(0.02)
    try:
        yield public
    finally:
        server.should_exit = True
        thread.join(timeout=10)
