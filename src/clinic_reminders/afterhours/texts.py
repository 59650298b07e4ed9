"""The auto-reply a patient reads, in their language: the office's own words when it wrote some, else these, framed
with the clinic's name (the FCC healthcare exemption asks every text to name who sends it)."""

from __future__ import annotations

from collections.abc import Mapping

from ..messaging.compose import normalize_language
from ..messaging.segments import to_gsm7

DEFAULTS = {
    "en": "We are closed now. We got your text and will call you when we open. In an emergency call 911.",
    "es": "Estamos cerrados. Recibimos su mensaje y le llamaremos cuando abramos. En una emergencia llame al 911.",
}


def reply_text(texts: Mapping[str, str], language: str | None, clinic: str) -> str:
    lang = normalize_language(language)
    return f"{to_gsm7(clinic.strip())}: {texts.get(lang) or DEFAULTS[lang]}"
