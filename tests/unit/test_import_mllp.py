"""The live HL7 feed's pure parts: frames reassembled from a TCP byte stream, and the ACKs sent back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker

from clinic_reminders.imports.hl7_ack import AckCode, AckError, build_ack
from clinic_reminders.imports.hl7_messages import Message
from clinic_reminders.imports.mllp import Deframer, Frame, FrameTooLarge, Listener

SEGMENTS = (Path(__file__).parent.parent / "fixtures" / "imports" / "schedule.hl7").read_text().splitlines()
FIRST, SECOND = "\r".join(SEGMENTS[:5]), "\r".join(SEGMENTS[5:])
NOW = datetime(2040, 1, 1, 19, 0, 5, tzinfo=UTC)


def framed(*messages: bytes) -> bytes:
    return b"".join(b"\x0b" + message + b"\x1c\r" for message in messages)


def fed(deframer: Deframer, *pieces: bytes) -> list[bytes]:
    frames = [frame for piece in pieces for frame in deframer.feed(piece)]
    assert not any(frame.cut for frame in frames)
    return [frame.body for frame in frames]


STREAM = framed(b"MSH|one", b"MSH|two")


@pytest.mark.parametrize("at", range(1, len(STREAM)))
def test_it_reassembles_frames_split_anywhere_across_reads(at: int) -> None:
    assert fed(Deframer(), STREAM[:at], STREAM[at:]) == [b"MSH|one", b"MSH|two"]


def test_it_reassembles_frames_sent_a_byte_at_a_time() -> None:
    deframer = Deframer()
    assert fed(deframer, *(STREAM[i : i + 1] for i in range(len(STREAM)))) == [b"MSH|one", b"MSH|two"]
    assert deframer.skipped == 0  # the CR after each FS is part of the framing


def test_it_skips_noise_before_a_start_byte_and_counts_it() -> None:
    deframer = Deframer()
    assert fed(deframer, b"\r\nnoise", b"!" + framed(b"MSH|one") + b"\n\x1c" + framed(b"MSH|two")) == [
        b"MSH|one",
        b"MSH|two",
    ]
    assert deframer.skipped == len("noise!\x1c")


def test_it_ends_a_frame_at_fs_even_without_the_cr() -> None:
    assert fed(Deframer(), b"\x0bMSH|one\x1c", b"\x0bMSH|two\x1c") == [b"MSH|one", b"MSH|two"]


def test_it_keeps_a_partial_frame_until_its_end_arrives() -> None:
    deframer = Deframer()
    assert deframer.feed(b"\x0bMSH|one\rSCH|") == []
    assert deframer.feed(b"A1\r\x1c\r") == [Frame(b"MSH|one\rSCH|A1\r")]


@pytest.mark.parametrize("at", [1, 20, 26, 27, 30])
def test_it_gives_back_a_frame_cut_short_by_the_start_of_the_next_one(at: int) -> None:
    stream = b"\x0bMSH|one\rPID|1||P1||Ha" + framed(b"MSH|two")
    deframer = Deframer()
    frames = [frame for piece in (stream[:at], stream[at:]) for frame in deframer.feed(piece)]
    assert frames == [Frame(b"MSH|one\rPID|1||P1||Ha", cut=True), Frame(b"MSH|two")]


def test_it_refuses_a_frame_larger_than_the_limit_before_its_end_arrives() -> None:
    assert Deframer(max_frame=10).feed(framed(b"x" * 10)) == [Frame(b"x" * 10)]
    deframer = Deframer(max_frame=10)
    deframer.feed(b"\x0b" + b"x" * 6)
    with pytest.raises(FrameTooLarge, match="more than 10 bytes"):
        deframer.feed(b"x" * 6)


def ack(message: str | None, code: AckCode, error: AckError | None = None) -> list[str]:
    incoming = Message(message) if message is not None else None
    text = build_ack(incoming, code, error, control_id="ACK42", now=NOW)
    assert text.endswith("\r")
    return text.split("\r")[:-1]


def test_it_accepts_with_sender_and_receiver_swapped_and_the_control_id_echoed() -> None:
    assert ack(FIRST, AckCode.ACCEPT) == [
        "MSH|^~\\&|REMINDERS|OFFICE|PMS|RIVERSIDE|20400101190005+0000||ACK^S12^ACK|ACK42|P|2.5.1",
        "MSA|AA|MSG0001",
    ]


def test_it_names_the_field_of_a_rejected_record_in_msa_3_and_err() -> None:
    _msh, msa, err = ack(FIRST, AckCode.ERROR, AckError("PID-5.2", "missing"))
    assert msa == "MSA|AE|MSG0001|PID-5.2: missing"
    assert err == "ERR||PID^1^5^1^2|101^Required field missing^HL70357|E||||PID-5.2: missing"


@pytest.mark.parametrize(
    ("error", "location", "code"),
    [
        (AckError("SCH-11.4", "not an HL7 date and time"), "SCH^1^11^1^4", "207"),
        (AckError("AIL-3", "missing"), "AIL^1^3", "101"),
        (AckError("PID", "segment missing"), "PID^1", "100"),
        (AckError("clinic", "no clinic named 'Uptown'"), "", "207"),
    ],
)
def test_it_locates_the_field_in_err_when_it_is_an_hl7_position(error: AckError, location: str, code: str) -> None:
    err = ack(FIRST, AckCode.ERROR, error)[2].split("|")
    assert (err[2], err[3].split("^")[0], err[8]) == (location, code, str(error))


def test_it_answers_in_the_separators_and_version_of_the_message() -> None:
    odd = FIRST.replace("|", "!").replace("^", "@").replace("~", "#").replace("2.5.1", "2.3")
    msh, msa, err = ack(odd, AckCode.ERROR, AckError("clinic", "no clinic named 'A!B@C|D'"))
    assert msh == "MSH!@#\\&!REMINDERS!OFFICE!PMS!RIVERSIDE!20400101190005+0000!!ACK@S12@ACK!ACK42!P!2.3"
    assert msa == "MSA!AE!MSG0001!clinic: no clinic named 'A\\F\\B\\S\\C|D'"
    assert err.endswith("!clinic: no clinic named 'A\\F\\B\\S\\C|D'")


def test_it_keeps_msa_3_within_its_80_characters_and_err_8_whole() -> None:
    long = AckError("MSH-9", "event S16 is not imported; these are: S12, S13, S14, S15, S17, S26 " + "x" * 40)
    _msh, msa, err = ack(FIRST, AckCode.ERROR, long)
    assert msa == f"MSA|AE|MSG0001|{str(long)[:80]}"
    assert err.endswith(f"|{long}")


def test_it_rejects_an_unreadable_message_with_default_separators() -> None:
    assert ack(None, AckCode.REJECT, AckError("MSH", "the message does not start with an MSH segment")) == [
        "MSH|^~\\&|||||20400101190005+0000||ACK|ACK42|P|2.5.1",
        "MSA|AR||MSH: the message does not start with an MSH segment",
        "ERR||MSH^1|207^Application internal error^HL70357|E||||MSH: the message does not start with an MSH segment",
    ]


@pytest.mark.parametrize(
    ("frame", "says"),
    [
        (b"PID|1||P1", "MSH: the message does not start with an MSH segment"),
        (b"MSH|", "MSH: the message does not start with an MSH segment"),
        (b"MSH||PMS|RIVERSIDE", "MSH-2: no valid encoding characters"),
        (f"{FIRST}\r{SECOND}".encode(), "MSH: a frame holds one message; this one holds several"),
    ],
)
def test_it_rejects_a_frame_it_cannot_read_without_touching_the_database(frame: bytes, says: str) -> None:
    answer = Listener(sessionmaker()).answer(frame)  # an unbound sessionmaker: any database use would fail
    assert answer.code == AckCode.REJECT
    assert answer.frame.startswith(b"\x0bMSH|^~\\&|") and answer.frame.endswith(b"\r\x1c\r")
    msa = answer.frame.split(b"\r")[1].decode()
    assert msa.startswith(f"MSA|AR|{'MSG0001' if b'MSG0001' in frame else ''}|{says}")
