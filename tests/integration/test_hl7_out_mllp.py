"""HL7 v2 write-back over MLLP to a listener in the test: the interface engine's ACK decides (AA delivered; AE, AR,
an ACK for another message, no ACK and a refused connection are failures to retry), over plain TCP and TLS with
the office's CA; and our own inbound listener, as a PMS would, imports what we send."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import Any

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders.db import transaction
from clinic_reminders.imports.hl7_ack import AckCode, AckError, build_ack
from clinic_reminders.imports.hl7_messages import Message
from clinic_reminders.imports.mllp import TRAILER, Deframer, Listener
from clinic_reminders.models import Appointment, AppointmentStatus, EventType
from clinic_reminders.tls import make_certificate, server_context
from clinic_reminders.writeback.hl7_out import Hl7Transport
from clinic_reminders.writeback.transports import DeliveryFailed, DestinationConfig, Payload
from tests.factories import make_import_office
from tests.integration.test_hl7_listener import GOOD, connect, framed, listening, receive_ack
from tests.unit.test_hl7_out import SETTINGS, payload

Answer = Callable[[str], str | None]  # a received message -> the ACK to send back ("": hang up, None: say nothing)


def ack(code: AckCode, error: AckError | None = None, control_id: str | None = None) -> Answer:
    """An interface engine answering with `code` (built as our own inbound listener builds its ACKs)."""

    def answer(text: str) -> str:
        message = Message(text)
        ack_text = build_ack(message, code, error, control_id="ACK1", now=datetime.now(UTC))
        return ack_text if control_id is None else ack_text.replace("evt_41", control_id)

    return answer


class Engine:
    """An MLLP listener on 127.0.0.1 in a thread: one connection at a time, each message answered by `answer`."""

    def __init__(self, answer: Answer, tls: ssl.SSLContext | None = None) -> None:
        self.answer, self.tls = answer, tls
        self.received: list[str] = []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                raw, _ = self.server.accept()
            except TimeoutError:
                continue
            with suppress(OSError), raw:
                raw.settimeout(5)
                sock = self.tls.wrap_socket(raw, server_side=True) if self.tls else raw
                self._converse(sock)

    def _converse(self, sock: socket.socket) -> None:
        deframer = Deframer()
        while data := sock.recv(65536):
            for frame in deframer.feed(data):
                text = frame.body.decode(errors="replace")
                if not text.startswith("MSH"):  # a TLS ClientHello, say
                    return
                self.received.append(text)
                reply = self.answer(text)
                if reply is None:
                    time.sleep(1)  # longer than the sender waits
                if not reply:
                    return
                sock.sendall(b"\x0b" + reply.encode() + TRAILER)

    def __enter__(self) -> Engine:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.server.close()


def destination(port: int, **settings: Any) -> DestinationConfig:
    return DestinationConfig(
        id=1, office_id=1, kind="hl7", name="PMS", settings={**SETTINGS, "port": port, "ack_timeout": 5, **settings}
    )


def send(port: int, event: Payload, **settings: Any) -> str:
    return Hl7Transport().send(destination(port, **settings), event, timeout=10)


def test_it_sends_an_siu_s14_for_a_confirmed_appointment_and_takes_an_aa() -> None:
    with Engine(ack(AckCode.ACCEPT)) as engine:
        assert send(engine.port, payload(EventType.APPOINTMENT_CONFIRMED)) == "AA"
    [text] = engine.received
    message = parse_message(text, validation_level=VALIDATION_LEVEL.STRICT, force_validation=True)
    assert message.msh.msh_9.to_er7() == "SIU^S14^SIU_S12"
    assert message.msh.msh_10.to_er7() == "evt_41"
    assert (message.sch.sch_2.to_er7(), message.sch.sch_25.to_er7()) == ("A1^PMS", "Booked^Booked^HL70278")
    assert message.tq1.tq1_7.to_er7() == "20400612150000+0000"
    assert message.siu_s12_patient.pid.pid_3.to_er7() == "P1^^^PMS^MR"


@pytest.mark.parametrize(
    ("event", "message_type"),
    [
        (EventType.APPOINTMENT_RESCHEDULE_REQUESTED, "SIU^S14^SIU_S12"),
        (EventType.APPOINTMENT_CANCELLED, "SIU^S15^SIU_S12"),
        (EventType.APPOINTMENT_NO_SHOW, "SIU^S26^SIU_S12"),
        (EventType.PATIENT_OPTED_OUT, "ADT^A31^ADT_A05"),
    ],
)
def test_each_message_goes_out_as_its_type(event: EventType, message_type: str) -> None:
    with Engine(ack(AckCode.ACCEPT)) as engine:
        assert send(engine.port, payload(event, details={"channel": "sms"})) == "AA"
    [text] = engine.received
    assert Message(text).segments[0].value(9, 1) + "^" + Message(text).segments[0].value(9, 2) in message_type
    assert parse_message(text, validation_level=VALIDATION_LEVEL.STRICT, force_validation=True).validate()


def test_a_retry_carries_the_same_control_id() -> None:
    with Engine(ack(AckCode.ACCEPT)) as engine:
        for _ in range(2):
            send(engine.port, payload(EventType.APPOINTMENT_CANCELLED))
    assert [Message(text).segments[0].value(10) for text in engine.received] == ["evt_41", "evt_41"]


@pytest.mark.parametrize("code", [AckCode.ERROR, AckCode.REJECT])
def test_an_ae_or_ar_is_a_failure_to_retry_without_the_patients_data(code: AckCode) -> None:
    quoting = AckError("PID-3", "no patient López, Ana (P1) in this PMS")
    with Engine(ack(code, quoting)) as engine, pytest.raises(DeliveryFailed) as failed:
        send(engine.port, payload(EventType.APPOINTMENT_CONFIRMED))
    assert not failed.value.permanent
    assert failed.value.reason == f"ACK {code}: PID-3: no patient …, … (…) in this PMS"


def commit_accept(text: str) -> str:
    """An engine in enhanced acknowledgment mode: CA once it has the message safe."""
    return ack(AckCode.ACCEPT)(text).replace("MSA|AA|", "MSA|CA|")


def test_an_enhanced_mode_commit_accept_is_delivered_too() -> None:
    with Engine(commit_accept) as engine:
        assert send(engine.port, payload(EventType.APPOINTMENT_NO_SHOW)) == "CA"


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (lambda text: "", "127.0.0.1:{port} closed the connection without an ACK"),
        (lambda text: "HTTP/1.1 400 Bad Request\r\n", "the answer is not an HL7 acknowledgment (no MSH and MSA)"),
        (
            lambda text: ack(AckCode.ACCEPT)(text).replace("|AA|", "|OK|"),
            "the ACK's code is not one of HL7 table 0008 (OK)",
        ),
    ],
)
def test_an_answer_that_is_no_ack_is_a_failure(answer: Answer, reason: str) -> None:
    with Engine(answer) as engine, pytest.raises(DeliveryFailed) as failed:
        send(engine.port, payload(EventType.APPOINTMENT_CONFIRMED))
    assert failed.value.reason == reason.format(port=engine.port) and not failed.value.permanent


def test_an_ack_for_another_message_is_a_failure() -> None:
    with Engine(ack(AckCode.ACCEPT, control_id="evt_40")) as engine, pytest.raises(DeliveryFailed) as failed:
        send(engine.port, payload(EventType.APPOINTMENT_CONFIRMED))
    assert failed.value.reason == "the ACK (AA) is for another message than evt_41"


def test_no_ack_within_the_ack_timeout_is_a_failure() -> None:
    with Engine(lambda text: None) as engine, pytest.raises(DeliveryFailed) as failed:
        send(engine.port, payload(EventType.APPOINTMENT_CONFIRMED), ack_timeout=0.2)
    assert failed.value.reason == f"no ACK from 127.0.0.1:{engine.port} within 0.2 s"
    assert len(engine.received) == 1


def test_a_closed_port_is_a_failure() -> None:
    with socket.create_server(("127.0.0.1", 0)) as unused:
        port = unused.getsockname()[1]
    with pytest.raises(DeliveryFailed) as failed:
        send(port, payload(EventType.APPOINTMENT_CONFIRMED))
    assert failed.value.reason == f"127.0.0.1:{port} refused the connection"


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A self-signed certificate for 127.0.0.1 (and its key, as files), and another one that has nothing to do
    with it."""
    folder = tmp_path_factory.mktemp("hl7-out-tls")
    server, stranger = make_certificate(["127.0.0.1"]), make_certificate(["127.0.0.1"])
    (folder / "cert.pem").write_bytes(server.cert_pem)
    (folder / "key.pem").write_bytes(server.key_pem)
    return {
        "context": server_context(folder / "cert.pem", folder / "key.pem"),
        "ca_pem": server.cert_pem.decode(),
        "other_pem": stranger.cert_pem.decode(),
    }


def test_over_tls_it_verifies_the_server_with_the_offices_ca(certificates: dict[str, Any]) -> None:
    with Engine(ack(AckCode.ACCEPT), tls=certificates["context"]) as engine:
        cancelled = payload(EventType.APPOINTMENT_CANCELLED)
        result = send(engine.port, cancelled, tls=True, ca_certificate=certificates["ca_pem"])
    assert result == "AA" and len(engine.received) == 1


def test_over_tls_a_server_certificate_of_another_ca_is_refused(certificates: dict[str, Any]) -> None:
    with Engine(ack(AckCode.ACCEPT), tls=certificates["context"]) as engine, pytest.raises(DeliveryFailed) as failed:
        send(engine.port, payload(EventType.APPOINTMENT_CANCELLED), tls=True, ca_certificate=certificates["other_pem"])
    assert failed.value.reason.startswith(f"TLS: 127.0.0.1:{engine.port}'s certificate was not accepted (")
    assert not failed.value.permanent and engine.received == []


def test_a_ca_pem_that_is_no_certificate_is_a_failure(certificates: dict[str, Any]) -> None:
    with Engine(ack(AckCode.ACCEPT), tls=certificates["context"]) as engine, pytest.raises(DeliveryFailed) as failed:
        not_pem = "-----BEGIN CERTIFICATE-----"
        send(engine.port, payload(EventType.APPOINTMENT_CANCELLED), tls=True, ca_certificate=not_pem)
    assert failed.value.reason == "TLS: the CA certificate is not a PEM certificate"


def test_tls_to_a_plain_listener_is_a_handshake_failure(certificates: dict[str, Any]) -> None:
    with Engine(ack(AckCode.ACCEPT)) as engine, pytest.raises(DeliveryFailed) as failed:
        send(engine.port, payload(EventType.APPOINTMENT_CANCELLED), tls=True, ca_certificate=certificates["ca_pem"])
    assert failed.value.reason.startswith(f"TLS handshake with 127.0.0.1:{engine.port} failed")


@contextmanager
def pms(session_factory: sessionmaker[Session]) -> Iterator[int]:
    """Our own inbound HL7 listener standing in for the PMS, its schedule holding the fixture's A1 (patient P1,
    Ana López, at Riverside with Dr. Maria Chen): the port it listens on."""
    with transaction(session_factory) as db:
        make_import_office(db)
    with listening(Listener(session_factory)) as address:
        with connect(address) as sock:
            sock.sendall(framed(GOOD))
            assert receive_ack(sock)[1][1] == "AA"
        yield address[1]


def test_the_inbound_importer_takes_what_we_send(session_factory: sessionmaker[Session]) -> None:
    """An end-to-end cross-check: SIU^S15 cancels the appointment it names."""
    event = payload(EventType.APPOINTMENT_CANCELLED, given="Ana", provider="Maria Chen")
    with pms(session_factory) as port:
        assert send(port, event, assigning_authority="PMS") == "AA"
    with session_factory() as db:
        visit = db.scalar(select(Appointment).where(Appointment.external_id == "A1"))
        assert visit is not None and visit.status == AppointmentStatus.CANCELLED
