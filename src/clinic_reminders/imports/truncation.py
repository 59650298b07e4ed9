"""Telling a file that was cut short (a transfer that broke off, a full disk) from a whole one.

A CSV line and an HL7 segment each end with a line break (CR, LF or CRLF), the last one included; an MLLP frame
ends with FS. A file whose last record lacks its terminator is taken to be cut inside that record: the record
is refused, naming where, rather than imported with a shortened value ("Ló" for "López"), and the records before
it are imported as usual. A cut inside a multi-byte UTF-8 character is the same cut. What no reader can see is a
cut that falls exactly on a terminator: the file then reads as whole records, one fewer than were sent, and a
plain HL7 file cut between two segments of its last message reads as that message without its last segments
(MLLP framing, which ends every message with FS, leaves no such blind spot).
"""

from __future__ import annotations

import codecs

LINE_BREAKS = ("\r", "\n")
CUT_CHARACTER = "\ufffd"  # what stands for a character the end of the file cut in two


def decode_utf8(data: bytes) -> str:
    """UTF-8 text, without a byte order mark. A character left unfinished by the end of the data becomes
    `CUT_CHARACTER`, so that the last record cannot end with its terminator; other bytes that are not UTF-8 raise
    UnicodeDecodeError (with positions in `data` less its BOM)."""
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.end != len(data) or exc.reason != "unexpected end of data":
            raise
        return data[: exc.start].decode("utf-8") + CUT_CHARACTER


def ends_with_line_break(text: str) -> bool:
    return text.endswith(LINE_BREAKS)
