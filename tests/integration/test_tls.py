"""`reminders serve` over HTTPS in a subprocess: a signed Twilio webhook accepted over TLS, a forged one
refused, TLS 1.0 and 1.1 refused by the server, weak ciphers refused, and the doctor reading its certificate."""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from click.testing import CliRunner

from clinic_reminders.cli import main
from clinic_reminders.doctor import Status
from clinic_reminders.gateways import compute_signature
from clinic_reminders.migrations import upgrade
from clinic_reminders.settings import Settings
from tests.conftest import TEST_SECRET_KEY
from tests.fixtures.simulator import free_port
from tests.integration.doctor_support import SID, TOKEN, doctor

REMINDERS = Path(sys.executable).parent / "reminders"
NUMBER = "+15005550006"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`reminders serve --certfile --keyfile` with a `reminders cert self-signed` certificate; (public URL, cert)."""
    folder = tmp_path_factory.mktemp("tls")
    made = CliRunner().invoke(main, ["cert", "self-signed", "--host", "127.0.0.1", "--out-dir", str(folder)])
    assert made.exit_code == 0 and "not for production" in made.output, made.output
    database_url = f"sqlite:///{folder / 'tls.db'}"
    upgrade(database_url)
    port = free_port()
    public = f"https://127.0.0.1:{port}"
    env = {
        **os.environ,
        "REMINDERS_SECRET_KEY": TEST_SECRET_KEY,
        "REMINDERS_DATABASE_URL": database_url,
        "REMINDERS_EMBEDDED_WORKER": "0",
        "REMINDERS_PUBLIC_URL": public,
        "TWILIO_ACCOUNT_SID": SID,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_PHONE_NUMBER": NUMBER,
    }
    command = [str(REMINDERS), "serve", "--port", str(port), "--certfile", str(folder / "cert.pem")]
    log = (folder / "serve.log").open("wb")
    process = subprocess.Popen([*command, "--keyfile", str(folder / "key.pem")], env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{public}/healthz", verify=_trusting(folder / "cert.pem"), timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("reminders serve did not start:\n" + (folder / "serve.log").read_text()[-3000:])
            time.sleep(0.1)
        yield public, folder / "cert.pem"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _trusting(cert: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert))


def handshake(public: str, version: ssl.TLSVersion, ciphers: str = "ALL:@SECLEVEL=0") -> tuple[str | None, str]:
    """(protocol, cipher) of a client limited to `version`; raises ssl.SSLError when refused."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_ciphers(ciphers)
    with warnings.catch_warnings():  # TLS 1.0/1.1 are deprecated: that is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = context.maximum_version = version
    port = int(public.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, context.wrap_socket(raw) as tls:
        cipher = tls.cipher()
        return tls.version(), cipher[0] if cipher else ""


def test_it_accepts_a_signed_webhook_over_tls_and_refuses_a_forged_one(server: tuple[str, Path]) -> None:
    public, cert = server
    query = urlencode(
        {"MessageSid": "SM" + "0" * 32, "AccountSid": SID, "From": "+15551230001", "To": NUMBER, "Body": "1"}
    )
    url = f"{public}/app_confirm?{query}"
    with httpx.Client(verify=_trusting(cert), timeout=10) as client:
        signed = client.get(url, headers={"X-Twilio-Signature": compute_signature(TOKEN, url)})
        forged = client.get(url, headers={"X-Twilio-Signature": compute_signature("another-token", url)})
    assert signed.status_code == 200, signed.text
    assert signed.headers["content-type"].startswith("text/xml") and "<Response" in signed.text
    assert forged.status_code == 403


@contextlib.contextmanager
def permissive_server(cert: Path) -> Iterator[str]:
    """A server that still speaks TLS 1.0: the control showing the client's refusals come from our server."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.set_ciphers("ALL:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
    context.load_cert_chain(cert, cert.with_name("key.pem"))
    with socket.create_server(("127.0.0.1", 0)) as listener:

        def answer_once() -> None:
            conn, _ = listener.accept()
            with contextlib.suppress(OSError), context.wrap_socket(conn, server_side=True):
                pass

        thread = threading.Thread(target=answer_once, daemon=True)
        thread.start()
        yield f"https://127.0.0.1:{listener.getsockname()[1]}"
        thread.join(timeout=5)


def test_it_refuses_tls_1_0_and_1_1(server: tuple[str, Path]) -> None:
    public, cert = server
    for old in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
        with permissive_server(cert) as control:  # this client can speak the old version...
            assert handshake(control, old)[0] in ("TLSv1", "TLSv1.1")
        with pytest.raises(ssl.SSLError) as refused:  # ...and `reminders serve` hangs up on it
            handshake(public, old)
        assert refused.value.reason in ("TLSV1_ALERT_PROTOCOL_VERSION", "UNEXPECTED_EOF_WHILE_READING")
    assert handshake(public, ssl.TLSVersion.TLSv1_2) == ("TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384")
    assert handshake(public, ssl.TLSVersion.TLSv1_3)[0] == "TLSv1.3"


def test_it_refuses_weak_tls_1_2_ciphers(server: tuple[str, Path]) -> None:
    public, _ = server
    for weak in ("AES128-SHA:AES256-SHA", "ECDHE-RSA-AES128-SHA", "DES-CBC3-SHA:@SECLEVEL=0"):
        with pytest.raises(ssl.SSLError):
            handshake(public, ssl.TLSVersion.TLSv1_2, weak)


def test_it_lets_the_doctor_read_the_served_test_certificate(server: tuple[str, Path]) -> None:
    public, _ = server
    settings = Settings(
        secret_key=TEST_SECRET_KEY, public_url=public, twilio_api_base_url="http://127.0.0.1:9/simulator"
    )
    report = doctor(
        settings,
        None,
        "server.certificate.key",
        "server.certificate.expiry",
        "server.certificate.hostname",
        "server.certificate.chain",
    )
    assert report.result("server.certificate.key").explanation == "RSA 2048 bits"
    assert report.result("server.certificate.expiry").status is Status.OK
    assert report.result("server.certificate.hostname").status is Status.OK
    chain = report.result("server.certificate.chain")
    assert chain.status is Status.FAILED and "clinic-reminders TEST certificate" in chain.explanation
