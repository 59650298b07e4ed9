"""A live HL7 v2 feed over MLLP (`reminders import hl7 --listen`): each SIU or ADT message is imported as it arrives,
through the same `upsert.run` as a file, and answered with an ACK on the same connection.

MLLP frames a message as VT (0x0B), the message, FS CR (0x1C 0x0D). Senders keep the connection open and wait
for each ACK before sending the next message; one that gets no ACK sends the message again, which is harmless
(an import of the same message changes nothing). Messages are imported one at a time across all connections,
since SQLite has a single writer, each in a worker thread so that the event loop goes on reading. Log lines
name the peer, control id, message type, outcome and counts: never a value from the message's body.

With an `ssl.SSLContext` (`tls_context`: `reminders serve`'s TLS 1.2+ and strong ciphers, optionally requiring a
client certificate signed by the office's CA) every connection is MLLP over TLS, as interface engines speak it. A
failed handshake (a plain-TCP sender, a missing or untrusted client certificate) closes that connection only.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import ssl
import uuid
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ..tls import server_context
from . import fields, hl7, upsert
from .hl7_ack import AckCode, AckError, build_ack
from .hl7_messages import MLLP_END, MLLP_START, Message, cut_field
from .records import Record, RecordError, Rejection

logger = logging.getLogger(__name__)

START, END = MLLP_START.encode(), MLLP_END.encode()
TRAILER = END + b"\r"
MAX_FRAME = 1024 * 1024  # bytes; an SIU message is a few hundred
_READ_SIZE = 64 * 1024
HANDSHAKE_TIMEOUT = 30.0  # seconds a TLS sender may take to complete its handshake
CLOSE_TIMEOUT = 2.0  # seconds a TLS sender gets to answer our close_notify before the connection is dropped
CUT = "cut short: a new frame began before this one's end (FS); send it again"

StrPath = str | os.PathLike[str]


def tls_context(certfile: StrPath, keyfile: StrPath, client_ca: StrPath | None = None) -> ssl.SSLContext:
    """The listener's TLS: the server context of `reminders serve` (TLS 1.2 and 1.3, forward-secret AEAD ciphers)
    with this PEM certificate chain and key; with `client_ca` (PEM), only clients presenting a certificate signed
    by it are served. Raises OSError for an unreadable file, ssl.SSLError for an unusable one or a key that does
    not belong to the certificate."""
    context = server_context(certfile, keyfile)
    if client_ca is not None:
        context.load_verify_locations(cafile=client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


class FrameTooLarge(ValueError):
    """A frame past the limit: the connection is closed, as its stream can no longer be trusted."""


@dataclass(frozen=True)
class Frame:
    body: bytes
    cut: bool = False  # a new frame began (VT) before this one's end (FS): the sender broke off and started over


class Deframer:
    """Frames out of a byte stream as it arrives: a frame may come in pieces, and several in one piece.

    A frame ends at FS; what lies between frames (the CR after each FS, noise before a VT) is skipped, and
    `skipped` counts those bytes other than line breaks. A VT inside a frame cuts it short: the frame so far is
    given back as cut (to be answered AR), and a new one begins.
    """

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self.max_frame = max_frame
        self.skipped = 0
        self._frame: bytearray | None = None  # None: between frames

    def feed(self, data: bytes) -> list[Frame]:
        """The frames that `data` completes; raises `FrameTooLarge` once a frame outgrows `max_frame`."""
        frames: list[Frame] = []
        while data:
            if self._frame is None:
                before, start, data = data.partition(START)
                self.skipped += len(before.translate(None, b"\r\n"))
                if start:
                    self._frame = bytearray()
                continue
            end_at, restart_at = data.find(END), data.find(START)
            cut = restart_at != -1 and (end_at == -1 or restart_at < end_at)
            split_at = restart_at if cut else end_at
            body = data if split_at == -1 else data[:split_at]
            if len(self._frame) + len(body) > self.max_frame:
                raise FrameTooLarge(f"a frame of more than {self.max_frame} bytes")
            self._frame += body
            if split_at == -1:
                break
            frames.append(Frame(bytes(self._frame), cut))
            self._frame = None
            data = data[split_at:] if cut else data[split_at + 1 :]  # a cut one leaves its VT to start the next
        return frames


@dataclass(frozen=True)
class Answer:
    """The framed ACK for the sender, and what may be logged about it."""

    frame: bytes
    code: AckCode
    control_id: str = ""
    message_type: str = ""
    field: str = ""

    def __str__(self) -> str:
        about = f"control id {self.control_id or '(none)'}, {self.message_type or 'unreadable'}"
        return f"{about}: {self.code}" + (f" (field {self.field})" if self.field else "")


class Listener:
    """The MLLP server: `start`, then `stop` (e.g. from a signal handler) and `wait_closed`."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        phone_region: str = "US",
        default_clinic: str | None = None,
        max_frame: int = MAX_FRAME,
        office_id: int | None = None,  # the office its records go to (None: the deployment's first office)
    ) -> None:
        self.sessions = sessions
        self.office_id = office_id
        self.phone_region = phone_region
        self.default_clinic = default_clinic
        self.max_frame = max_frame
        self._one_at_a_time = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._connections: set[asyncio.Task[Any]] = set()
        self._server: asyncio.Server | None = None
        self._tls: ssl.SSLContext | None = None

    async def start(self, host: str, port: int, tls: ssl.SSLContext | None = None) -> tuple[str, int]:
        """Listen on host:port (port 0: any free one), over TLS with `tls`; returns the address listened on."""
        # The handshake is done per connection (`_handshake`) rather than by asyncio.start_server(ssl=...), which
        # drops a failed handshake without a word: the office would never learn that a sender cannot get in.
        self._tls = tls
        self._server = await asyncio.start_server(self._connection, host, port)
        addresses = [sock.getsockname()[:2] for sock in self._server.sockets]
        bound: tuple[str, int] = addresses[0]
        if tls is None:
            logger.info("listening for HL7 v2 over MLLP on %s without TLS", _address(bound))
            if not all(_is_loopback(address[0]) for address in addresses):
                logger.warning(
                    "the HL7 feed on %s is not encrypted: patient data travels in clear text across the network; "
                    "use --tls-cert and --tls-key, or a VPN or TLS tunnel",
                    _address(bound),
                )
        else:
            clients = "client certificates required" if tls.verify_mode == ssl.CERT_REQUIRED else "any client"
            logger.info("listening for HL7 v2 over MLLP on %s with TLS (%s)", _address(bound), clients)
        return bound

    def stop(self) -> None:
        """Take no more connections; each connection answers the message in hand, then closes."""
        if self._server is not None:
            self._server.close()
        self._stopping.set()

    async def wait_closed(self) -> None:
        """Return once `stop` was called and every connection is closed."""
        await self._stopping.wait()
        await asyncio.gather(*self._connections)
        if self._server is not None:
            await self._server.wait_closed()
        logger.info("stopped listening for HL7 v2")

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
            task.add_done_callback(self._connections.discard)
        peer = _address(writer.get_extra_info("peername"))
        if self._tls is not None:
            try:
                secured = await self._handshake(writer, self._tls)
            except OSError as exc:  # ssl.SSLError, a timeout, a reset: this sender is refused, the listener goes on
                logger.warning("mllp %s: TLS handshake failed (%s), connection closed", peer, _why(exc))
                secured = False
            if not secured:
                writer.close()  # not wait_closed: a connection that never became TLS does not report its closing
                return
        deframer = Deframer(self.max_frame)
        answered: Counter[AckCode] = Counter()
        tls_version = writer.get_extra_info("ssl_object").version() if self._tls is not None else None
        logger.info("mllp %s: connected%s", peer, f" over {tls_version}" if tls_version else "")
        try:
            while not self._stopping.is_set() and (data := await self._read(reader)):
                for frame in deframer.feed(data):
                    if self._stopping.is_set():
                        break
                    answered[await self._answer(frame, peer, writer)] += 1
        except FrameTooLarge as exc:
            logger.warning("mllp %s: %s, closing the connection", peer, exc)
        except OSError:
            logger.warning("mllp %s: connection lost", peer)
        finally:
            writer.close()
            try:  # over TLS, closing waits for the sender's close_notify: a sender that is not reading never sends it
                await asyncio.wait_for(writer.wait_closed(), CLOSE_TIMEOUT)
            except TimeoutError:
                writer.transport.abort()
            except OSError:
                pass
        if deframer.skipped:
            logger.warning("mllp %s: skipped %d bytes outside MLLP frames", peer, deframer.skipped)
        logger.info("mllp %s: closed; answered %s", peer, ", ".join(f"{answered[code]} {code}" for code in AckCode))

    async def _handshake(self, writer: asyncio.StreamWriter, tls: ssl.SSLContext) -> bool:
        """Turn the connection into TLS: True once done, False when the listener stopped first; raises OSError
        (ssl.SSLError among others) when the handshake fails."""
        # Stop reading before the ClientHello can land in the plain-text StreamReader, where TLS would never see it.
        # This runs in the connection task's first step, which asyncio schedules ahead of the transport's first
        # read; start_tls, in a task of its own, resumes reading once its SSL protocol is in place.
        if isinstance(writer.transport, asyncio.ReadTransport):  # a socket transport is; the stub types say Write
            writer.transport.pause_reading()
        handshake = asyncio.ensure_future(writer.start_tls(tls, ssl_handshake_timeout=HANDSHAKE_TIMEOUT))
        stopping = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait((handshake, stopping), return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not handshake.done():
            handshake.cancel()
            with suppress(asyncio.CancelledError, OSError):
                await handshake
            return False
        handshake.result()
        return True

    async def _read(self, reader: asyncio.StreamReader) -> bytes:
        """The next bytes from the peer; b"" once it closed the connection, or when the server stops."""
        read = asyncio.ensure_future(reader.read(_READ_SIZE))
        stopping = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait((read, stopping), return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not read.done():
            read.cancel()
            return b""
        return read.result()

    async def _answer(self, frame: Frame, peer: str, writer: asyncio.StreamWriter) -> AckCode:
        async with self._one_at_a_time:
            answer = await asyncio.to_thread(self.answer, frame.body, cut=frame.cut)
        logger.info("mllp %s: %s", peer, answer)
        writer.write(answer.frame)
        await writer.drain()
        return answer.code

    def answer(self, frame: bytes, *, cut: bool = False) -> Answer:
        """Read, import and acknowledge one frame's message; a `cut` one is only answered AR. Blocking: it does
        the database work."""
        text, codec = hl7.decode(frame)
        try:
            message = Message(text)
        except RecordError as exc:
            unreadable = AckError(cut_field(text), CUT) if cut else AckError(exc.field, exc.message)
            return _reply(None, codec, AckCode.REJECT, unreadable)
        if cut:
            return _reply(message, codec, AckCode.REJECT, AckError(cut_field(text), CUT))
        if len(message.all("MSH")) > 1:
            several = AckError("MSH", "a frame holds one message; this one holds several")
            return _reply(message, codec, AckCode.REJECT, several)
        code, error, warnings = self._import(message)
        return _reply(message, codec, code, error, warnings)

    def _import(self, message: Message) -> tuple[AckCode, AckError | None, list[AckError]]:
        """The answer to the message once imported: its code, the rejection, and the warnings of an import."""
        where = f"control id {message.segments[0].value(10) or '(none)'}"
        try:
            item: Record | Rejection = hl7.record(message, where, fields.Phones(self.phone_region))
        except RecordError as exc:
            item = Rejection(where, exc.field, exc.message)
        try:
            summary = upsert.run(
                self.sessions, [item], "hl7", default_clinic=self.default_clinic, office_id=self.office_id
            )
        except Exception as exc:  # the database failed; its error text may quote patient data
            logger.error("mllp: %s: import failed (%s)", where, type(exc).__name__)
            return AckCode.REJECT, AckError("record", "not imported; send it again"), []
        if summary.rejections:
            rejection = summary.rejections[0]
            return AckCode.ERROR, AckError(rejection.field, rejection.message), []
        return AckCode.ACCEPT, None, [AckError(notice.field, notice.message) for notice in summary.warnings]


def _reply(
    message: Message | None,
    codec: str,
    code: AckCode,
    error: AckError | None = None,
    warnings: list[AckError] | None = None,
) -> Answer:
    ack = build_ack(
        message, code, error, control_id=uuid.uuid4().hex[:20], now=datetime.now(UTC), warnings=warnings or ()
    )
    msh = message.segments[0] if message is not None else None
    return Answer(
        START + ack.encode(codec) + TRAILER,
        code,
        control_id=msh.value(10) if msh is not None else "",
        message_type=f"{msh.value(9, 1)}^{msh.value(9, 2)}" if msh is not None else "",
        field=error.field if error is not None else "",
    )


def _why(exc: OSError) -> str:
    """What may be logged about a failed handshake: OpenSSL's reason code (e.g. WRONG_VERSION_NUMBER for a
    plain-TCP sender, PEER_DID_NOT_RETURN_A_CERTIFICATE), never bytes the peer sent."""
    if isinstance(exc, ssl.SSLError):
        return exc.reason or "SSL error"
    if isinstance(exc, TimeoutError | ConnectionAbortedError):  # asyncio aborts a handshake that takes too long
        return f"no handshake within {HANDSHAKE_TIMEOUT:g} s"
    return type(exc).__name__


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.partition("%")[0]).is_loopback
    except ValueError:
        return False


def _address(address: tuple[Any, ...]) -> str:
    host, port = address[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
