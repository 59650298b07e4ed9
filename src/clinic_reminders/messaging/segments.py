"""SMS encoding and segment counting, so the office sees what a text costs before it is sent.

One character outside the GSM 03.38 alphabet switches the whole text to UCS-2 and cuts a segment from 160 to 70
characters: a reminder that fits one segment can silently cost three. The counts here follow how handsets and
Twilio split long texts (a multi-part header takes 7 septets / 3 code units of each part, and a character is never
split across two parts), and assume Twilio's Smart Encoding is off: the worst case is what gets billed.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

# GSM 03.38 basic character set (3GPP TS 23.038, table 6.2.1), in code order. Escape (0x1B) is left out: it only
# introduces the extension table. Note "Ç" (capital) is the standard's character; lower-case "ç" is not in it.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each character is sent as escape + code, so it counts as two septets.
GSM7_EXTENSION = frozenset("\f^{}\\[]~|€")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


@dataclass(frozen=True)
class SegmentInfo:
    """What a text costs: `characters` counts what the limits count (GSM-7 septets or UTF-16 code units)."""

    encoding: Encoding
    segments: int
    characters: int


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def non_gsm7_characters(text: str) -> list[str]:
    """The characters that force UCS-2, in order of first appearance (for a readable warning)."""
    seen: dict[str, None] = {}
    for ch in text:
        if ch not in GSM7_BASIC and ch not in GSM7_EXTENSION:
            seen.setdefault(ch, None)
    return list(seen)


def _pack(weights: list[int], single: int, part: int) -> int:
    """Segments needed for characters of these widths; a character never straddles two parts."""
    total = sum(weights)
    if total == 0:
        return 0
    if total <= single:
        return 1
    segments, used = 1, 0
    for width in weights:
        if used + width > part:
            segments, used = segments + 1, 0
        used += width
    return segments


def count_segments(text: str) -> SegmentInfo:
    """Encoding and segment count of `text` as Twilio would send it. An empty text is 0 segments."""
    if is_gsm7(text):
        weights = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
        return SegmentInfo("GSM-7", _pack(weights, GSM7_SINGLE, GSM7_PART), sum(weights))
    weights = [2 if ord(ch) > 0xFFFF else 1 for ch in text]  # astral characters (most emoji) are surrogate pairs
    return SegmentInfo("UCS-2", _pack(weights, UCS2_SINGLE, UCS2_PART), sum(weights))


def estimate_cost(segments: int, price_per_segment: Decimal) -> Decimal:
    """Twilio bills per segment; the price is the office's configured rate, not a live quote."""
    if segments < 0:
        raise ValueError("segments must not be negative")
    return price_per_segment * segments


# Typographic characters that word processors and phones slip in, with their GSM-7 look-alikes.
_LOOKALIKES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
        "\u00a0": " ",
        "\u202f": " ",
        "\u2009": " ",
    }
)


def to_gsm7(text: str) -> str:
    """Spell characters outside GSM-7 in GSM-7 where a close spelling exists: "á" -> "a", curly quotes -> straight.

    Used on values put into a template (names, dates), never on the office's own wording. Characters without a
    plain-letter equivalent (emoji, other scripts) are kept: the text then honestly goes out as UCS-2.
    """
    out: list[str] = []
    for ch in text.translate(_LOOKALIKES):
        if ch in GSM7_BASIC or ch in GSM7_EXTENSION:
            out.append(ch)
            continue
        base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
        out.append(base if base and is_gsm7(base) else ch)
    return "".join(out)
