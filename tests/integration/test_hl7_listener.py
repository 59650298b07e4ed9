"""`reminders import hl7 --listen`: a live MLLP feed lands appointments with their reminders, and each message
is answered on the same connection. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders.db import make_engine, make_sessionmaker, transaction
from clinic_reminders.imports.mllp import Listener
from clinic_reminders.models import Appointment, Patient, Reminder, ReminderStatus
from tests.factories import make_import_office

SEGMENTS = (Path(__file__).parent.parent / "fixtures" / "imports" / "schedule.hl7").read_text().splitlines()
GOOD = "\r".join(SEGMENTS[:5]) + "\r"  # MSG0001: A1 for P1 at Riverside
BAD = "\r".join(SEGMENTS[5:]).replace("|Okafor^Ben|", "|Okafor|") + "\r"  # MSG0002: no given name (PID-5.2)
PATIENT_DATA = ("Ana", "López", "Okafor", "5550142", "19800115", "20400612")


@pytest.fixture
def office(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as db:
        make_import_office(db)


def framed(message: str) -> bytes:
    return b"\x0b" + message.encode() + b"\x1c\r"


@contextmanager
def listening(listener: Listener) -> Iterator[tuple[str, int]]:
    """The listener on a free port, its event loop in a thread; stopped as SIGTERM would stop it."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield asyncio.run_coroutine_threadsafe(listener.start("127.0.0.1", 0), loop).result(10)
    finally:
        loop.call_soon_threadsafe(listener.stop)
        asyncio.run_coroutine_threadsafe(listener.wait_closed(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def connect(address: tuple[str, int]) -> socket.socket:
    sock = socket.create_connection(address, timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def send_in_pieces(sock: socket.socket, data: bytes, *cuts: int) -> None:
    for start, end in zip((0, *cuts), (*cuts, len(data)), strict=True):
        sock.sendall(data[start:end])
        time.sleep(0.02)  # separate TCP segments, read separately by the server


def receive_ack(sock: socket.socket) -> list[list[str]]:
    """The next ACK's segments, each as its fields."""
    data = b""
    while not data.endswith(b"\x1c\r"):
        chunk = sock.recv(4096)
        assert chunk, f"the connection closed after {data!r}"
        data += chunk
    assert data.startswith(b"\x0b")
    return [segment.split("|") for segment in data[1:-2].decode().split("\r") if segment]


@pytest.mark.usefixtures("office")
def test_it_imports_a_live_feed_and_acknowledges_each_message(
    session_factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with listening(Listener(session_factory)) as address, connect(address) as sock:
        first, second = framed(GOOD), framed(BAD)
        # noise before the first frame; the first message's last piece carries the start of the second
        send_in_pieces(sock, b"\r\n" + first + second[:30], 1, 40, len(first) - 10)
        [msh, msa] = receive_ack(sock)
        send_in_pieces(sock, second[30:], 100)
        [_, msa_2, err] = receive_ack(sock)
    assert (msh[2:6], msh[8], msh[11]) == (["REMINDERS", "OFFICE", "PMS", "RIVERSIDE"], "ACK^S12^ACK", "2.5.1")
    assert msh[9] != "MSG0001"
    assert msa == ["MSA", "AA", "MSG0001"]
    assert msa_2 == ["MSA", "AE", "MSG0002", "PID-5.2: missing"]
    assert (err[2], err[3], err[8]) == ("PID^1^5^1^2", "101^Required field missing^HL70357", "PID-5.2: missing")
    with session_factory() as db:
        visit = db.scalar(select(Appointment).where(Appointment.external_id == "A1"))
        assert visit is not None and visit.clinic.name == "Riverside" and visit.patient.external_id == "P1"
        planned = db.scalars(select(Reminder).where(Reminder.appointment_id == visit.id)).all()
        assert len(planned) == 3 and {r.status for r in planned} == {ReminderStatus.PLANNED}
        assert set(db.scalars(select(Patient.external_id))) == {"P1"}  # the rejected message left nothing
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("clinic_reminders.imports"))
    assert "control id MSG0001, SIU^S12: AA" in logged
    assert "control id MSG0002, SIU^S12: AE (field PID-5.2)" in logged
    assert "closed; answered 1 AA, 1 AE, 0 AR" in logged
    for value in PATIENT_DATA:
        assert value not in logged


def test_it_closes_a_connection_whose_frame_outgrows_the_limit(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    with listening(Listener(sessionmaker(), max_frame=1000)) as address, connect(address) as sock:
        sock.sendall(b"\x0b" + GOOD.encode() * 5)
        assert sock.recv(4096) == b""  # closed, no answer
    assert "a frame of more than 1000 bytes, closing the connection" in caplog.text


def test_it_answers_ar_when_the_database_fails_and_logs_no_patient_data(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    no_tables = make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'empty.db'}", hide_parameters=True))
    with listening(Listener(no_tables)) as address, connect(address) as sock:
        sock.sendall(framed(GOOD))
        [_, msa, err] = receive_ack(sock)
    assert msa == ["MSA", "AR", "MSG0001", "record: not imported; send it again"]
    assert err[3].startswith("207^")
    assert "control id MSG0001: import failed (OperationalError)" in caplog.text
    for value in PATIENT_DATA:
        assert value not in caplog.text


@pytest.mark.usefixtures("office")
def test_it_runs_from_the_command_line_until_sigterm(database_url: str, tmp_path: Path) -> None:
    log = tmp_path / "listener.log"
    command = [sys.executable, "-m", "clinic_reminders", "import", "hl7", "--database-url", database_url]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env={**os.environ, "REMINDERS_HL7_LISTEN": "127.0.0.1:0"}, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 30
        while "listening for HL7 v2 over MLLP on " not in log.read_text():
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        port = int(log.read_text().split("listening for HL7 v2 over MLLP on 127.0.0.1:")[1].split()[0])
        with connect(("127.0.0.1", port)) as sock:
            sock.sendall(framed(GOOD))
            assert receive_ack(sock)[1] == ["MSA", "AA", "MSG0001"]
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
            assert sock.recv(4096) == b""  # the open connection was closed
    finally:
        if process.poll() is None:
            process.kill()
    text = log.read_text()
    assert "closed; answered 1 AA, 0 AE, 0 AR" in text and "stopped listening for HL7 v2" in text
    for value in PATIENT_DATA:
        assert value not in text
