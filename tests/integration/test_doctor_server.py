"""The doctor's server checks against real TLS handshakes on loopback: HTTPS, DNS, the served certificate
(good chain, expired, 1024-bit, self-signed, wrong host, no TLS at all) and the configured certificate files."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from clinic_reminders.doctor import Report, Status
from clinic_reminders.settings import Settings
from clinic_reminders.tls import Issued, make_certificate, make_key
from tests.conftest import TEST_SECRET_KEY
from tests.integration.doctor_support import doctor

NOW = datetime.now(UTC)
ASPECTS = ("key", "expiry", "hostname", "chain")
SERVED = tuple(f"server.certificate.{a}" for a in ASPECTS)


@pytest.fixture(scope="module")
def pki() -> dict[str, Issued]:
    root = make_certificate([], key=make_key("ec"), is_ca=True, common_name="Doctor Test Root", days=3650)
    intermediate = make_certificate([], key=make_key("ec"), issuer=root, is_ca=True, common_name="Doctor Test CA")
    leaf = make_certificate(["127.0.0.1"], key=make_key("ec"), issuer=intermediate, common_name="127.0.0.1")
    return {"root": root, "intermediate": intermediate, "leaf": leaf}


def write(tmp: Path, leaf: Issued, *chain: Issued) -> tuple[Path, Path]:
    cert, key = tmp / f"cert-{id(leaf)}.pem", tmp / f"key-{id(leaf)}.pem"
    cert.write_bytes(leaf.cert_pem + b"".join(c.cert_pem for c in chain))
    key.write_bytes(leaf.key_pem)
    return cert, key


@contextlib.contextmanager
def tls_server(cert: Path, key: Path) -> Iterator[int]:
    """Answers TLS handshakes on loopback; permissive (SECLEVEL=0) so that it can serve weak certificates."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(2)
            with contextlib.suppress(OSError), context.wrap_socket(conn, server_side=True):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=2)
        listener.close()


def run(public_url: str, *ids: str, roots: list[Issued] | None = None, **settings: object) -> Report:
    settings.setdefault("twilio_api_base_url", "http://127.0.0.1:9/simulator")  # loopback is fine for a simulator
    configured = Settings(secret_key=TEST_SECRET_KEY, public_url=public_url, **settings)  # type: ignore[arg-type]
    return doctor(configured, None, *ids, trusted_roots=[r.certificate for r in roots or []])


def statuses(report: Report, ids: tuple[str, ...]) -> dict[str, Status]:
    return {i: report.result(i).status for i in ids}


def test_it_fails_a_plain_http_public_url() -> None:
    report = run("http://127.0.0.1:8080", "server.https")
    assert report.result("server.https").status is Status.FAILED
    assert "--certfile" in report.result("server.https").fix
    assert run("https://127.0.0.1:8080", "server.https").result("server.https").status is Status.OK


def test_it_fails_a_host_that_does_not_resolve_and_warns_of_a_private_one() -> None:
    report = run("https://doctor-test.invalid:8443", "server.dns", SERVED[0])
    assert report.result("server.dns").status is Status.FAILED
    assert "create a DNS A" in report.result("server.dns").fix
    assert report.result(SERVED[0]).status is Status.SKIPPED
    private = run("https://10.1.2.3:8443", "server.dns", twilio_api_base_url=None).result("server.dns")
    assert private.status is Status.WARNING and "Twilio cannot reach it" in private.explanation


def test_it_passes_a_full_chain_from_a_trusted_ca(tmp_path: Path, pki: dict[str, Issued]) -> None:
    with tls_server(*write(tmp_path, pki["leaf"], pki["intermediate"])) as port:
        report = run(f"https://127.0.0.1:{port}", *SERVED, roots=[pki["root"]])
    assert statuses(report, ("server.certificate.served", *SERVED)) == dict.fromkeys(
        ("server.certificate.served", *SERVED), Status.OK
    )
    assert "2 certificate(s) up to the trusted root Doctor Test Root" in report.result(SERVED[3]).explanation


def test_it_fails_a_leaf_served_without_its_intermediate(tmp_path: Path, pki: dict[str, Issued]) -> None:
    with tls_server(*write(tmp_path, pki["leaf"])) as port:
        report = run(f"https://127.0.0.1:{port}", *SERVED, roots=[pki["root"]])
    chain = report.result("server.certificate.chain")
    assert chain.status is Status.FAILED and "only its own certificate" in chain.explanation
    assert "fullchain.pem" in chain.fix


def test_it_fails_an_expired_1024_bit_certificate(tmp_path: Path, pki: dict[str, Issued]) -> None:
    weak = make_certificate(
        ["127.0.0.1"],
        key=make_key("rsa", 1024),
        issuer=pki["intermediate"],
        not_before=NOW - timedelta(days=400),
        not_after=NOW - timedelta(days=2),
    )
    with tls_server(*write(tmp_path, weak, pki["intermediate"])) as port:
        report = run(f"https://127.0.0.1:{port}", *SERVED, roots=[pki["root"]])
    assert statuses(report, SERVED) == {
        "server.certificate.key": Status.FAILED,
        "server.certificate.expiry": Status.FAILED,
        "server.certificate.hostname": Status.OK,
        "server.certificate.chain": Status.OK,
    }
    assert "RSA key of 1024 bits" in report.result("server.certificate.key").explanation
    assert "at least 2048 bits" in report.result("server.certificate.key").fix
    assert "expired on" in report.result("server.certificate.expiry").explanation
    assert "renew" in report.result("server.certificate.expiry").fix


def test_it_fails_a_self_signed_certificate_for_another_host(tmp_path: Path) -> None:
    self_signed = make_certificate(["clinic.example.com"], key=make_key("ec"), days=20)
    with tls_server(*write(tmp_path, self_signed)) as port:
        report = run(f"https://127.0.0.1:{port}", *SERVED)
    assert statuses(report, SERVED) == {
        "server.certificate.key": Status.OK,
        "server.certificate.expiry": Status.WARNING,
        "server.certificate.hostname": Status.FAILED,
        "server.certificate.chain": Status.FAILED,
    }
    assert "made for clinic.example.com, not for 127.0.0.1" in report.result("server.certificate.hostname").explanation
    assert report.result("server.certificate.chain").explanation.startswith("self-signed")


def test_it_fails_when_nothing_or_no_tls_answers() -> None:
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    report = run(f"https://127.0.0.1:{port}", *SERVED)
    served = report.result("server.certificate.served")
    assert served.status is Status.FAILED and "nothing answered" in served.explanation
    assert all(report.result(i).status is Status.SKIPPED for i in SERVED)
    with socket.create_server(("127.0.0.1", 0)) as plain:  # accepts, then speaks no TLS
        plain_port = plain.getsockname()[1]
        threading.Thread(target=lambda: plain.accept()[0].sendall(b"HTTP/1.1 400 Bad\r\n\r\n"), daemon=True).start()
        report = run(f"https://127.0.0.1:{plain_port}", "server.certificate.served")
    served = report.result("server.certificate.served")
    assert served.status is Status.FAILED and "TLS handshake" in served.explanation


def test_it_checks_the_configured_certificate_files(tmp_path: Path, pki: dict[str, Issued]) -> None:
    check = "server.certificate.files"
    assert run("https://127.0.0.1:8443", check).result(check).status is Status.SKIPPED
    cert, key = write(tmp_path, pki["leaf"], pki["intermediate"])
    good = run("https://127.0.0.1:8443", check, roots=[pki["root"]], tls_certfile=str(cert), tls_keyfile=str(key))
    assert good.result(check).status is Status.OK and "EC secp256r1" in good.result(check).explanation
    _, other_key = write(tmp_path, make_certificate(["127.0.0.1"], key=make_key("ec")))
    wrong = run("https://127.0.0.1:8443", check, tls_certfile=str(cert), tls_keyfile=str(other_key))
    assert wrong.result(check).status is Status.FAILED
    assert wrong.result(check).explanation == "the key file does not belong to the certificate"
    soon = make_certificate(["127.0.0.1"], key=make_key("ec"), issuer=pki["intermediate"], days=9)
    cert, key = write(tmp_path, soon, pki["intermediate"])
    expiring = run("https://127.0.0.1:8443", check, roots=[pki["root"]], tls_certfile=str(cert), tls_keyfile=str(key))
    assert expiring.result(check).status is Status.WARNING and "expires on" in expiring.result(check).explanation
