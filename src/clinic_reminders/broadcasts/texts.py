"""What a broadcast's patient reads: the office's words in the patient's language (English when there are none in
it), framed with the clinic's name and how to opt out, as the FCC healthcare exemption asks of every text."""

from __future__ import annotations

from collections.abc import Mapping

from ..messaging.compose import LANGUAGES, normalize_language
from ..messaging.segments import to_gsm7
from ..refusals import Refused

MAX_LENGTH = 400  # the words staff write; with the frame, at most three segments in GSM-7
_FRAME = {"en": "{clinic}: {text} STOP=opt out", "es": "{clinic}: {text} STOP=baja"}


def checked(texts: Mapping[str, str]) -> dict[str, str]:
    """The texts by language, trimmed; English is required, the other languages are optional."""
    found = {lang: (texts.get(lang) or "").strip() for lang in LANGUAGES}
    if not found["en"]:
        raise Refused("texts.en", "write the message in English (other languages are optional)")
    for lang, text in found.items():
        if len(text) > MAX_LENGTH:
            raise Refused(f"texts.{lang}", f"at most {MAX_LENGTH} characters")
    unknown = sorted(set(texts) - set(LANGUAGES))
    if unknown:
        raise Refused(f"texts.{unknown[0]}", f"no such language; use {', '.join(LANGUAGES)}")
    return {lang: text for lang, text in found.items() if text}


def body(texts: Mapping[str, str], language: str | None, clinic: str) -> str:
    lang = normalize_language(language)
    if not texts.get(lang):
        lang = "en"
    return _FRAME[lang].format(clinic=to_gsm7(clinic.strip()), text=texts[lang])
