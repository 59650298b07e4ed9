"""A database error under every entry point leaves no patient data in the logs: not in a log line, not in a
traceback, at any level. The database refuses every write to the table the entry point writes (a trigger on
SQLite; on PostgreSQL a CHECK constraint, whose error repeats the whole row), and the logs are searched for the
patient's name, number and message text. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders.dispatcher.worker import Worker
from clinic_reminders.imports.mllp import Listener
from clinic_reminders.models import Office, Patient, Reminder, Role, StaffUser
from clinic_reminders.settings import Settings
from clinic_reminders.web.app import create_app
from tests.conftest import TEST_SECRET_KEY
from tests.factories import (
    make_appointment,
    make_clinic,
    make_import_office,
    make_message,
    make_patient,
    make_rule,
    make_token,
    make_user,
)
from tests.fixtures.simulator import CLINIC_NUMBER, SimulatorClient, ThreadedServer, wait_until
from tests.integration.test_hl7_listener import GOOD, connect, framed, listening, receive_ack
from tests.web import webhooks
from tests.web.pages import sign_in

FIRST, LAST, NUMBER = "Zelda", "Quartermaine", "+12125557788"
TEXT = "running late but still coming"
PATIENT_DATA = (FIRST, LAST, NUMBER, NUMBER[2:], TEXT)
IMPORTED_DATA = ("López", "Okafor", "5550142", "555 0143", "19800115", "1980-01-15")  # tests/fixtures/imports
SCHEDULE_CSV = Path(__file__).parent.parent / "fixtures" / "imports" / "schedule.csv"


class Captured(logging.Handler):
    """Every record, formatted as a log file would hold it (with its traceback); not those of the test's own
    HTTP client (httpx logs the URLs it calls, and the test calls /app_confirm with the patient's text)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(("httpx", "httpcore")):
            self.lines.append(self.format(record))

    def of_the_server(self, answer: httpx.Response) -> str:
        """Everything logged up to the server's report of the error (uvicorn logs it after the answer is out)."""
        assert answer.status_code == 500, answer.text
        wait_until(lambda: any("Exception in ASGI application" in line for line in self.lines))
        logged = "\n".join(self.lines)
        assert "refuse" in logged, "the traceback of the refused write is logged"
        return logged + answer.text


@pytest.fixture
def logs() -> Iterator[Captured]:
    """Beside the root logger's handlers and those of loggers that write on their own (uvicorn's), all at DEBUG."""
    handler = Captured()
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and not logger.propagate and logger.handlers
    ]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    yield handler
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


def assert_private(output: str, data: tuple[str, ...] = PATIENT_DATA) -> None:
    for value in data:
        assert value not in output


@contextmanager
def writes_refused(engine: Engine, table: str) -> Iterator[None]:
    """Every INSERT and UPDATE on `table` fails until the block ends."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            for verb in ("INSERT", "UPDATE"):
                conn.execute(
                    text(
                        f"CREATE TRIGGER refuse_{verb.lower()} BEFORE {verb} ON {table} "
                        "BEGIN SELECT RAISE(ABORT, 'writes refused by the test'); END"
                    )
                )
        else:
            conn.execute(text(f"ALTER TABLE {table} ADD CONSTRAINT refuse_writes CHECK (false) NOT VALID"))
    try:
        yield
    finally:
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                conn.execute(text("DROP TRIGGER refuse_insert"))
                conn.execute(text("DROP TRIGGER refuse_update"))
            else:
                conn.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT refuse_writes"))


@pytest.fixture
def settings(database_url: str, simulator: SimulatorClient) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        embedded_worker=False,
        twilio_account_sid=simulator.account_sid,
        twilio_auth_token=webhooks.AUTH_TOKEN,
        twilio_phone_number=CLINIC_NUMBER,
        twilio_api_base_url=simulator.base_url,
        sender_rate=1000.0,
    )


@pytest.fixture
def office(session: Session) -> Office:
    # Texts allowed at any hour: the dispatcher must try to send now, whatever the hour the test runs.
    office = Office(name="Riverside Family Medicine", quiet_hours_start=time(0, 0), quiet_hours_end=time(23, 59))
    session.add(office)
    session.flush()
    make_rule(session, office, minutes_before=60 * 24)
    session.commit()
    return office


@pytest.fixture
def patient(session: Session, office: Office) -> Patient:
    clinic = make_clinic(session, office, phone="+12125550100")
    patient = make_patient(session, office, first_name=FIRST, last_name=LAST, phone=NUMBER)
    appointment = make_appointment(session, clinic, patient, starts_at=datetime.now(UTC) + timedelta(days=2))
    make_message(
        session, office, appointment=appointment, body=f"Hi {FIRST}, {TEXT}?", twilio_sid="SM" + "4" * 32, status="sent"
    )
    session.commit()
    return patient


@pytest.fixture
def staff(session: Session, office: Office) -> StaffUser:
    user = make_user(session, office, Role.STAFF, email="staff@example.com")
    session.commit()
    return user


class Served(ThreadedServer):
    """The app under uvicorn as `reminders serve` runs it: uvicorn logs what the app raises, and its own access
    log (which would write query strings) is off."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.server.config.access_log = False
        self.server.config.configure_logging()


@pytest.fixture
def web(settings: Settings, engine: Engine, patient: Patient) -> Iterator[httpx.Client]:
    app = create_app(settings, engine)
    with Served(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        app.state.settings = settings.model_copy(update={"public_url": server.url})
        yield client


def test_the_api(web: httpx.Client, engine: Engine, session: Session, staff: StaffUser, logs: Captured) -> None:
    token = make_token(session, staff)
    session.commit()
    body = {"first_name": FIRST, "last_name": LAST, "phones": [{"number": NUMBER}]}
    with writes_refused(engine, "patients"):
        answer = web.post("/api/patients", json=body, headers={"Authorization": f"Bearer {token}"})
    assert_private(logs.of_the_server(answer))


def test_the_staff_pages(web: httpx.Client, engine: Engine, patient: Patient, staff: StaffUser, logs: Captured) -> None:
    pages = sign_in(web, staff.email)  # type: ignore[arg-type]  # an httpx.Client, as a TestClient is
    pages.get(f"/patients/{patient.id}")
    form = {"first_name": FIRST, "last_name": f"{LAST}-Smith", "language": "en", "preferred_channel": "sms"}
    form |= {"sms_consent": "on", "voice_consent": "on", "phone_0": NUMBER, "kind_0": "mobile"}
    with writes_refused(engine, "patients"):
        answer = pages.post(f"/patients/{patient.id}", form)
    assert_private(logs.of_the_server(answer))


def test_an_answer_at_app_confirm(web: httpx.Client, engine: Engine, logs: Captured) -> None:
    with writes_refused(engine, "messages"):
        params = webhooks.sms(NUMBER, TEXT, "SM" + "6" * 32, To=CLINIC_NUMBER)
        answer = webhooks.get(web, "/app_confirm", params, str(web.base_url).rstrip("/"))
    assert_private(logs.of_the_server(answer))


def test_a_status_callback(web: httpx.Client, engine: Engine, logs: Captured) -> None:
    params = {"MessageSid": "SM" + "4" * 32, "MessageStatus": "delivered", "To": NUMBER, "From": CLINIC_NUMBER}
    with writes_refused(engine, "messages"):
        answer = webhooks.post(web, "/twilio/status", params, str(web.base_url).rstrip("/"))
    assert_private(logs.of_the_server(answer))


def test_the_dispatcher(
    settings: Settings, engine: Engine, session_factory: sessionmaker[Session], patient: Patient, logs: Captured
) -> None:
    with session_factory() as db, db.begin():
        db.execute(update(Reminder).values(due_at=datetime.now(UTC) - timedelta(minutes=1)))
    worker = Worker(settings, session_factory, poll_interval=0.05, clock=lambda: datetime.now(UTC))

    def warned() -> bool:
        return any(line.startswith("WARNING clinic_reminders.dispatcher") for line in logs.lines)

    async def dispatch_until_it_fails() -> str:
        """The worker's error as the operator sees it: raised out of `reminders worker --once`, or logged by a
        worker that waits for the database to answer again."""
        run = asyncio.create_task(worker.run(once=True))
        for _ in range(400):
            if run.done() or warned():
                break
            await asyncio.sleep(0.05)
        worker.stop()
        try:
            await asyncio.wait_for(run, 30)
        except DBAPIError as error:
            return "".join(traceback.format_exception(error))
        return ""

    with writes_refused(engine, "messages"):
        raised = asyncio.run(dispatch_until_it_fails())
    assert raised or warned(), "the refused write is reported"
    assert_private("\n".join(logs.lines) + raised)


def test_reminders_import(database_url: str, session_factory: sessionmaker[Session], engine: Engine) -> None:
    with session_factory() as db, db.begin():
        make_import_office(db)
    command = [sys.executable, "-m", "clinic_reminders", "--log-level", "DEBUG", "import", "csv", str(SCHEDULE_CSV)]
    with writes_refused(engine, "patients"):
        run = subprocess.run([*command, "--database-url", database_url], capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert_private(run.stdout + run.stderr, IMPORTED_DATA)


def test_the_mllp_listener(session_factory: sessionmaker[Session], engine: Engine, logs: Captured) -> None:
    with session_factory() as db, db.begin():
        make_import_office(db)
    with writes_refused(engine, "patients"), listening(Listener(session_factory)) as address, connect(address) as sock:
        sock.sendall(framed(GOOD))
        [_, msa, *_] = receive_ack(sock)
    assert msa[1] != "AA"
    assert_private("\n".join(logs.lines), IMPORTED_DATA)
