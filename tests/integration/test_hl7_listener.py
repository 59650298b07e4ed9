"""`reminders import hl7 --listen`: a live MLLP feed lands appointments with their reminders, and each message
is answered on the same connection, in plain MLLP or over TLS (with client certificates or without). On SQLite
and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders.cli import main
from clinic_reminders.db import make_engine, make_sessionmaker, transaction
from clinic_reminders.imports.mllp import Listener, tls_context
from clinic_reminders.models import Appointment, Patient, Reminder, ReminderStatus
from clinic_reminders.tls import Issued, make_certificate, make_key
from tests.factories import make_import_office

SEGMENTS = (Path(__file__).parent.parent / "fixtures" / "imports" / "schedule.hl7").read_text().splitlines()
GOOD = "\r".join(SEGMENTS[:5]) + "\r"  # MSG0001: A1 for P1 at Riverside
BAD = "\r".join(SEGMENTS[5:]).replace("|Okafor^Ben|", "|Okafor|") + "\r"  # MSG0002: no given name (PID-5.2)
PATIENT_DATA = ("Ana", "López", "Okafor", "5550142", "19800115", "20400612")


@pytest.fixture
def office(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as db:
        make_import_office(db)


def client_certificate(issuer: Issued, name: str) -> Issued:
    """A sender's certificate: `make_certificate` makes server ones (serverAuth), which a server refuses."""
    key, now = make_key("ec"), datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(issuer.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(issuer.key, hashes.SHA256())
    )
    return Issued(certificate, key)


@dataclass(frozen=True)
class Pki:
    """PEM files of a throwaway CA, the listener's certificate and key, and senders' certificates and keys."""

    ca: Path
    cert: Path
    key: Path
    sender: tuple[Path, Path]  # signed by the CA
    stranger: tuple[Path, Path]  # signed by another CA
    other_key: Path  # a key of no certificate here


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("hl7-tls")

    def write(name: str, pem: bytes) -> Path:
        (folder / name).write_bytes(pem)
        return folder / name

    ca = make_certificate([], key=make_key("ec"), is_ca=True, common_name="HL7 Test CA")
    other_ca = make_certificate([], key=make_key("ec"), is_ca=True, common_name="Another CA")
    server = make_certificate(["127.0.0.1"], key=make_key("ec"), issuer=ca, common_name="127.0.0.1")
    sender, stranger = client_certificate(ca, "pms-sender"), client_certificate(other_ca, "stranger")
    return Pki(
        ca=write("ca.pem", ca.cert_pem),
        cert=write("cert.pem", server.cert_pem),
        key=write("key.pem", server.key_pem),
        sender=(write("sender.pem", sender.cert_pem), write("sender-key.pem", sender.key_pem)),
        stranger=(write("stranger.pem", stranger.cert_pem), write("stranger-key.pem", stranger.key_pem)),
        other_key=write("other-key.pem", other_ca.key_pem),
    )


def client_tls(pki: Pki, certificate: tuple[Path, Path] | None = None) -> ssl.SSLContext:
    """A sender that trusts the throwaway CA, presenting `certificate` (cert, key) when given."""
    context = ssl.create_default_context(cafile=pki.ca)
    if certificate is not None:
        context.load_cert_chain(*certificate)
    return context


@contextmanager
def connect_tls(address: tuple[str, int], context: ssl.SSLContext) -> Iterator[ssl.SSLSocket]:
    with connect(address) as raw, context.wrap_socket(raw, server_hostname=address[0]) as sock:
        yield sock


def refused(sock: socket.socket, message: bytes) -> bytes:
    """What the listener sends back to `message` before hanging up (a TLS alert at most): never an ACK."""
    received = b""
    with suppress(ssl.SSLError, ConnectionResetError, BrokenPipeError):
        sock.sendall(message)
        while chunk := sock.recv(4096):
            received += chunk
    return received


def framed(message: str) -> bytes:
    return b"\x0b" + message.encode() + b"\x1c\r"


@contextmanager
def listening(
    listener: Listener, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1"
) -> Iterator[tuple[str, int]]:
    """The listener on a free port, its event loop in a thread; stopped as SIGTERM would stop it."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield asyncio.run_coroutine_threadsafe(listener.start(host, 0, tls), loop).result(10)
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


@pytest.mark.usefixtures("office")
def test_it_answers_the_import_refusals_with_ae_and_a_frame_cut_short_with_ar(
    session_factory: sessionmaker[Session],
) -> None:
    nul = GOOD.replace("López^Ana", "López^An\x00a")
    cut = GOOD[: GOOD.index("López^A") + len("López^A")]  # the sender broke off, then sent the message again
    with listening(Listener(session_factory)) as address, connect(address) as sock:
        sock.sendall(framed(nul))
        [_, refused_nul, err] = receive_ack(sock)
        sock.sendall(b"\x0b" + cut.encode() + framed(GOOD))
        [_, refused_cut, _] = receive_ack(sock)
        [_, accepted] = receive_ack(sock)
    assert refused_nul == [
        "MSA",
        "AE",
        "MSG0001",
        "PID-5.2: holds a control character (such as NUL, a tab or a line break)",
    ]
    assert err[2] == "PID^1^5^1^2"
    assert refused_cut[:3] == ["MSA", "AR", "MSG0001"] and refused_cut[3].startswith("PID-5.2: cut short")
    assert accepted == ["MSA", "AA", "MSG0001"]
    with session_factory() as db:
        assert list(db.scalars(select(Patient.first_name))) == ["Ana"]


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
@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_it_runs_from_the_command_line_until_sigterm(database_url: str, tmp_path: Path, pki: Pki, tls: bool) -> None:
    log = tmp_path / "listener.log"
    command = [sys.executable, "-m", "clinic_reminders", "import", "hl7", "--database-url", database_url]
    env = {**os.environ, "REMINDERS_HL7_LISTEN": "127.0.0.1:0"}
    if tls:  # from the environment, as a service unit would give them
        env |= {"REMINDERS_HL7_TLS_CERT": str(pki.cert), "REMINDERS_HL7_TLS_KEY": str(pki.key)}
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 30
        while "listening for HL7 v2 over MLLP on " not in log.read_text():
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        port = int(log.read_text().split("listening for HL7 v2 over MLLP on 127.0.0.1:")[1].split()[0])
        assert ("with TLS" if tls else "without TLS") in log.read_text()
        with connect_tls(("127.0.0.1", port), client_tls(pki)) if tls else connect(("127.0.0.1", port)) as sock:
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


@pytest.mark.usefixtures("office")
def test_it_imports_a_message_sent_over_tls(
    session_factory: sessionmaker[Session], pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    tls = tls_context(pki.cert, pki.key)
    with listening(Listener(session_factory), tls) as address, connect_tls(address, client_tls(pki)) as sock:
        sock.sendall(framed(GOOD))
        [msh, msa] = receive_ack(sock)
        assert sock.version() in ("TLSv1.2", "TLSv1.3")
    assert msh[8] == "ACK^S12^ACK" and msa == ["MSA", "AA", "MSG0001"]
    with session_factory() as db:
        visit = db.scalar(select(Appointment).where(Appointment.external_id == "A1"))
        assert visit is not None and visit.patient.external_id == "P1"
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("clinic_reminders.imports"))
    assert f"listening for HL7 v2 over MLLP on 127.0.0.1:{address[1]} with TLS (any client)" in logged
    assert "connected over TLSv1." in logged and "closed; answered 1 AA, 0 AE, 0 AR" in logged
    for value in PATIENT_DATA:
        assert value not in logged


@pytest.mark.usefixtures("office")
def test_it_refuses_a_plain_tcp_sender_and_goes_on_serving_tls_ones(
    session_factory: sessionmaker[Session], pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with listening(Listener(session_factory), tls_context(pki.cert, pki.key)) as address:
        silent = connect(address)  # never starts its handshake: neither the others nor stopping wait for it
        with connect(address) as plain:
            assert b"MSA" not in refused(plain, framed(GOOD))
        with connect_tls(address, client_tls(pki)) as sock:
            sock.sendall(framed(GOOD))
            assert receive_ack(sock)[1] == ["MSA", "AA", "MSG0001"]
    with silent:  # listening() gave the stop 10 s, the handshake has 30
        assert silent.recv(4096) == b""
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.getMessage().startswith("mllp 127.0.0.1:")
    assert warning.getMessage().endswith(": TLS handshake failed (WRONG_VERSION_NUMBER), connection closed")
    for value in PATIENT_DATA:
        assert value not in caplog.text


@pytest.mark.usefixtures("office")
def test_it_serves_only_senders_with_a_certificate_from_the_client_ca(
    session_factory: sessionmaker[Session], pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    tls = tls_context(pki.cert, pki.key, client_ca=pki.ca)
    with listening(Listener(session_factory), tls) as address:
        for who in (None, pki.stranger):  # no certificate; one from another CA
            with connect_tls(address, client_tls(pki, who)) as sock:
                assert b"MSA" not in refused(sock, framed(GOOD))
        with connect_tls(address, client_tls(pki, pki.sender)) as sock:
            sock.sendall(framed(GOOD))
            assert receive_ack(sock)[1] == ["MSA", "AA", "MSG0001"]
    assert "with TLS (client certificates required)" in caplog.text
    failures = {r.getMessage().split(": ", 1)[1] for r in caplog.records if r.levelno == logging.WARNING}
    assert failures == {
        "TLS handshake failed (PEER_DID_NOT_RETURN_A_CERTIFICATE), connection closed",  # no certificate
        "TLS handshake failed (CERTIFICATE_VERIFY_FAILED), connection closed",  # from another CA
    }
    assert "closed; answered 1 AA, 0 AE, 0 AR" in caplog.text
    with session_factory() as db:
        assert set(db.scalars(select(Patient.external_id))) == {"P1"}


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0"])  # noqa: S104 - on all interfaces, for a moment
def test_it_warns_when_patient_data_would_cross_the_network_unencrypted(
    host: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with listening(Listener(sessionmaker()), host=host) as address:
        pass
    assert f"listening for HL7 v2 over MLLP on {host}:{address[1]} without TLS" in caplog.text
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    if host == "127.0.0.1":
        assert warnings == []
    else:
        [warning] = warnings
        assert warning.startswith(f"the HL7 feed on 0.0.0.0:{address[1]} is not encrypted: patient data travels")


@pytest.mark.parametrize(
    ("options", "error"),
    [
        (["--tls-cert", "{cert}"], "Error: --tls-cert and --tls-key go together: give both, or neither"),
        (["--tls-key", "{key}"], "Error: --tls-cert and --tls-key go together: give both, or neither"),
        (["--tls-client-ca", "{ca}"], "Error: --tls-client-ca needs --tls-cert and --tls-key"),
        (
            ["--tls-cert", "{folder}/missing.pem", "--tls-key", "{key}"],
            "Error: Invalid value for '--tls-cert' (env var: 'REMINDERS_HL7_TLS_CERT'): File '{folder}/missing.pem' "
            "does not exist.",
        ),
        (
            ["--tls-cert", "{cert}", "--tls-key", "{other_key}"],
            "Error: Invalid value for '--tls-key': '{other_key}' is not the key of the certificate in '{cert}'",
        ),
        (
            ["--tls-cert", "{key}", "--tls-key", "{key}"],
            "Error: Invalid value for '--tls-cert': '{key}' does not hold readable PEM certificates",
        ),
        (
            ["--tls-cert", "{cert}", "--tls-key", "{cert}"],
            "Error: Invalid value for '--tls-key': '{cert}' is not an unencrypted PEM private key",
        ),
        (
            ["--tls-cert", "{cert}", "--tls-key", "{key}", "--tls-client-ca", "{key}"],
            "Error: Invalid value for '--tls-client-ca': '{key}' does not hold readable PEM certificates",
        ),
    ],
    ids=[
        "cert-without-key",
        "key-without-cert",
        "client-ca-without-cert",
        "missing-file",
        "key-of-another",
        "key-as-cert",
        "cert-as-key",
        "key-as-ca",
    ],
)
def test_it_explains_what_is_wrong_with_the_tls_options(pki: Pki, options: list[str], error: str) -> None:
    paths = {"cert": pki.cert, "key": pki.key, "ca": pki.ca, "other_key": pki.other_key, "folder": pki.ca.parent}
    args = ["import", "hl7", "--listen", "127.0.0.1:0", *(option.format(**paths) for option in options)]
    result = CliRunner().invoke(main, args, env={"REMINDERS_DATABASE_URL": "sqlite://"})
    assert result.exit_code == 2, result.output
    assert error.format(**paths) in result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output  # a usage error, no crash


def test_it_keeps_the_tls_options_for_the_live_feed(pki: Pki, tmp_path: Path) -> None:
    messages = tmp_path / "feed.hl7"
    messages.write_text(GOOD)
    args = ["import", "hl7", str(messages), "--tls-cert", str(pki.cert), "--tls-key", str(pki.key)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "Error: --tls-cert, --tls-key and --tls-client-ca go with --listen, not FILE" in result.output
