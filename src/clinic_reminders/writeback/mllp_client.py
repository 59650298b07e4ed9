"""A small synchronous MLLP client: one message out, its ACK back, over plain TCP or TLS.

One connection per message: the delivery engine sends one message at a time per destination and waits for its
ACK before the next (in order per appointment), so a kept-open connection would save only the handshake, and a
fresh one never meets a half-closed socket left from hours ago. Interface engines accept either.

The ACK is read with hl7apy (original mode AA/AE/AR, enhanced mode CA/CE/CR). Every failure is a
`DeliveryFailed` that may be retried; its reason names the host, the ACK code or the TLS error, never a value from
the message: the receiver's own text (MSA-3, else ERR-8) is cut short and the patient's names and ids are blanked
out of it, since receivers like to quote what they could not match.
"""

from __future__ import annotations

import re
import socket
import ssl
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.exceptions import HL7apyException, UnsupportedVersion
from hl7apy.parser import parse_message, parse_segments

from ..imports.hl7_ack import DEFAULT_SEPARATORS, MSA_TEXT_LENGTH, AckCode
from ..imports.hl7_messages import Separators
from ..imports.mllp import START, TRAILER, Deframer, FrameTooLarge
from .transports import DeliveryFailed

ACCEPTED = (AckCode.ACCEPT.value, "CA")  # application accept; commit accept (enhanced mode)
REFUSED = (AckCode.ERROR.value, AckCode.REJECT.value, "CE", "CR")
_READ_SIZE = 64 * 1024
_LINE_BREAKS = re.compile(r"\r\n|\n|\r")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    tls: bool = False
    ca_pem: str | None = None  # the CA to verify the server with; None: the system's trust store

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def client_context(ca_pem: str | None) -> ssl.SSLContext:
    """TLS 1.2 or later, the server's certificate verified (by `ca_pem`, else the system's CAs) and its name
    checked against the host."""
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_pem:
        try:
            context.load_verify_locations(cadata=ca_pem)
        except (ssl.SSLError, ValueError):
            raise DeliveryFailed("TLS: the CA certificate is not a PEM certificate") from None
    return context


def send(
    endpoint: Endpoint,
    message: str,
    *,
    control_id: str,
    ack_timeout: float,
    timeout: float,
    redact: Iterable[str] = (),
) -> str:
    """Send one message (segments separated by CR) and return the ACK's code ("AA" or "CA").

    `timeout` bounds the whole exchange, `ack_timeout` the wait for the ACK once the message is sent. `redact`:
    values that must not reach the failure's reason (the patient's names and ids)."""
    deadline = time.monotonic() + timeout
    frame = START + message.encode("utf-8") + TRAILER
    with _failures(endpoint, timeout), _connect(endpoint, deadline) as sock:
        sock.settimeout(_left(deadline))
        sock.sendall(frame)
        ack = _read_ack(sock, endpoint, min(deadline, time.monotonic() + ack_timeout))
    return _outcome(ack, control_id, list(redact))


def check(endpoint: Endpoint, *, timeout: float) -> str:
    """Connect (with the TLS handshake, when TLS is on) and hang up without sending: a destination's test."""
    with _failures(endpoint, timeout), _connect(endpoint, time.monotonic() + timeout):
        pass
    return f"connected to {endpoint}{' over TLS' if endpoint.tls else ''} (no message sent)"


@contextmanager
def _failures(endpoint: Endpoint, timeout: float) -> Iterator[None]:
    """Network and TLS errors as `DeliveryFailed` with a short reason."""
    try:
        yield
    except DeliveryFailed:
        raise
    except ssl.SSLCertVerificationError as exc:
        raise DeliveryFailed(f"TLS: {endpoint}'s certificate was not accepted ({exc.verify_message})") from None
    except ssl.SSLError as exc:
        raise DeliveryFailed(f"TLS handshake with {endpoint} failed ({exc.reason or 'SSL error'})") from None
    except TimeoutError:
        raise DeliveryFailed(f"no connection to {endpoint} within {timeout:g} s") from None
    except ConnectionRefusedError:
        raise DeliveryFailed(f"{endpoint} refused the connection") from None
    except OSError as exc:
        raise DeliveryFailed(f"connection to {endpoint} failed ({exc.strerror or type(exc).__name__})") from None


def _connect(endpoint: Endpoint, deadline: float) -> socket.socket:
    sock = socket.create_connection((endpoint.host, endpoint.port), timeout=_left(deadline))
    if not endpoint.tls:
        return sock
    try:
        sock.settimeout(_left(deadline))
        return client_context(endpoint.ca_pem).wrap_socket(sock, server_hostname=endpoint.host)
    except BaseException:
        sock.close()
        raise


def _read_ack(sock: socket.socket, endpoint: Endpoint, until: float) -> bytes:
    deframer, waiting = Deframer(), until - time.monotonic()
    while True:
        try:
            sock.settimeout(_left(until))
            data = sock.recv(_READ_SIZE)
        except TimeoutError:
            raise DeliveryFailed(f"no ACK from {endpoint} within {waiting:.3g} s") from None
        if not data:
            raise DeliveryFailed(f"{endpoint} closed the connection without an ACK")
        try:
            frames = deframer.feed(data)
        except FrameTooLarge:
            raise DeliveryFailed(f"{endpoint} answered with a frame too large to be an ACK") from None
        if frames:
            return frames[0].body


def _outcome(frame: bytes, control_id: str, redact: list[str]) -> str:
    ack = _Ack.read(frame.decode("utf-8", errors="replace"))
    code = ack.value("MSA", "MSA_1")
    if ack.value("MSA", "MSA_2") != control_id:
        raise DeliveryFailed(f"the ACK ({code[:10] or 'no code'}) is for another message than {control_id}")
    if code in ACCEPTED:
        return code
    if code in REFUSED:
        said = _cleaned(ack.value("MSA", "MSA_3") or ack.value("ERR", "ERR_8"), redact)
        raise DeliveryFailed(f"ACK {code}: {said}" if said else f"ACK {code}")
    raise DeliveryFailed(f"the ACK's code is not one of HL7 table 0008 ({code[:10] or 'empty'})")


@dataclass(frozen=True)
class _Ack:
    """An acknowledgment's segments as hl7apy reads them (leniently: receivers' ACKs are seldom perfect)."""

    segments: dict[str, Any]  # the first segment of each name
    separators: Separators

    @classmethod
    def read(cls, text: str) -> _Ack:
        er7 = _LINE_BREAKS.sub("\r", text.strip())
        separators = DEFAULT_SEPARATORS
        try:
            try:
                message = parse_message(er7, VALIDATION_LEVEL.TOLERANT, find_groups=False)
                segments, chars = list(message.children), message.encoding_chars
                separators = Separators(
                    chars["FIELD"], chars["COMPONENT"], chars["REPETITION"], chars["ESCAPE"], chars["SUBCOMPONENT"]
                )
            except UnsupportedVersion:  # a version hl7apy has no tables for: the segments read the same
                segments = list(parse_segments(er7, validation_level=VALIDATION_LEVEL.TOLERANT))
        except (HL7apyException, ValueError, IndexError, KeyError):
            segments = []
        first = {segment.name: segment for segment in reversed(segments)}
        if "MSA" not in first or not er7.startswith("MSH"):
            raise DeliveryFailed("the answer is not an HL7 acknowledgment (no MSH and MSA)")
        return cls(first, separators)

    def value(self, segment_name: str, field_name: str) -> str:
        """A field of one value (ID or ST), unescaped; "" when absent."""
        segment = self.segments.get(segment_name)
        fields = segment.children.get(field_name) if segment is not None else []
        return self.separators.unescape(str(fields[0].value)).strip() if fields else ""


def _cleaned(text: str, redact: list[str]) -> str:
    """The receiver's text, cut to MSA-3's length, one line, the patient's values blanked."""
    text = _CONTROL.sub(" ", text)
    for value in sorted(filter(None, redact), key=len, reverse=True):
        text = re.sub(re.escape(value), "…", text, flags=re.IGNORECASE)
    return text.strip()[:MSA_TEXT_LENGTH]


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left
