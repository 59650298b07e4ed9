"""Text folded for search: "José García", "JOSE GARCIA" and "jose garcia" all fold to "jose garcia"."""

from __future__ import annotations

import unicodedata

# Letters that are not a base letter plus marks, so NFKD leaves them whole. Keys are the case-folded forms
# (casefold already turns ß and ẞ into "ss"); ı is the Turkish dotless i.
_LETTERS = str.maketrans({"æ": "ae", "ø": "o", "ł": "l", "đ": "d", "œ": "oe", "þ": "th", "ı": "i"})


def fold(text: str) -> str:
    """Case-folded, without accents or other combining marks, with compatibility forms (ligatures, full-width
    letters) spelled out."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    # Compatibility forms can decompose to capitals (ℌ -> H): fold the case again.
    return bare.casefold().translate(_LETTERS)


def fold_name(first_name: str | None, last_name: str | None) -> str:
    """The folded "first last" name that patient search matches against."""
    return fold(f"{first_name or ''} {last_name or ''}")
