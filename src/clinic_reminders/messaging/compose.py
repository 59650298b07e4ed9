"""Reminder texts from office-editable templates, in the patient's language, sized to one SMS segment.

Templates are Jinja2 rendered in a sandbox because office staff write them: a template can read the variables
below and nothing else. Answers are digits (1 confirm, 2 cancel, 3 reschedule), never "reply CANCEL": a single-word
CANCEL is a carrier opt-out keyword and would silence every later text to that patient.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .segments import SegmentInfo, count_segments, non_gsm7_characters, to_gsm7

Language = Literal["en", "es"]
LANGUAGES: tuple[Language, ...] = ("en", "es")
MAX_TEMPLATE_LENGTH = 1000
FCC_MAX_CHARACTERS = 160  # the FCC healthcare exemption's limit for a text

TEMPLATE_VARIABLES: dict[str, str] = {
    "first_name": "the patient's first name",
    "clinic": "the clinic's name",
    "clinic_phone": "the clinic's phone number, as displayed",
    "provider": "the provider's display name (may be empty)",
    "date": "the local date, short (Wed Sep 30 / mié 30 sept)",
    "time": "the local time (12:30 PM / 12:30)",
    "when": "date and time together (Wed Sep 30 at 12:30 PM / mié 30 sept a las 12:30)",
    "kind": "in-person or telehealth",
    "is_telehealth": "true for a video visit",
    "reason": "the visit reason, only when the office allows it; otherwise empty",
    "link": "the patient's short link, or empty",
    "options": "the answer options (Reply 1 confirm, 2 cancel, 3 reschedule)",
}

OPTIONS: dict[Language, str] = {
    "en": "Reply 1 confirm, 2 cancel, 3 reschedule",
    "es": "Responda 1 confirmar, 2 cancelar, 3 cambiar",
}

# Default templates, richest first. With no template of its own the office gets the first that fits one GSM-7
# segment: long names cost the provider's name, then the patient's, never the clinic's name and number (FCC:
# the provider's name and contact), the options or the STOP hint (FCC: every text says how to opt out).
# Spanish wording avoids á/í/ó/ú, which are not GSM-7 and would triple the cost.
_EN_VISIT = "{{ 'video appt' if is_telehealth else 'appt' }}"
_ES_VISIT = "{{ 'cita por video' if is_telehealth else 'cita' }}"
_EN_TAIL = "{{ when }}. {{ options }}. {{ clinic_phone }}. STOP=opt out"
_ES_TAIL = "{{ when }}. {{ options }}. {{ clinic_phone }}. STOP=baja"
DEFAULT_TEMPLATES: dict[Language, tuple[str, ...]] = {
    "en": (
        "{{ first_name }}, " + _EN_VISIT + ":{% if provider %} {{ provider }},{% endif %} {{ clinic }}, " + _EN_TAIL,
        "{{ first_name }}, " + _EN_VISIT + ": {{ clinic }}, " + _EN_TAIL,
        "Your " + _EN_VISIT + ": {{ clinic }}, " + _EN_TAIL,
    ),
    "es": (
        "{{ first_name }}, " + _ES_VISIT + ":{% if provider %} {{ provider }},{% endif %} {{ clinic }}, " + _ES_TAIL,
        "{{ first_name }}, " + _ES_VISIT + ": {{ clinic }}, " + _ES_TAIL,
        "Su " + _ES_VISIT + ": {{ clinic }}, " + _ES_TAIL,
    ),
}


# With a patient link, tried first: the link replaces the provider's and patient's names, and is dropped when
# even that does not fit one segment (a long public URL); the clinic's name and number always stay (FCC).
LINK_TEMPLATES: dict[Language, tuple[str, ...]] = {
    "en": ("{{ clinic }} " + _EN_VISIT + " {{ when }}. {{ options }}. {{ clinic_phone }} {{ link }} STOP=opt out",),
    "es": ("{{ clinic }} " + _ES_VISIT + " {{ when }}. {{ options }}. {{ clinic_phone }} {{ link }} STOP=baja",),
}


# A video visit cannot be joined without its link, so its text always carries it: when the whole reminder does
# not fit one segment, the answer options give way to the link's page (where the patient also confirms or
# cancels), and a text that still does not fit goes out in two segments rather than without the link.
VIDEO_TEMPLATES: dict[Language, tuple[str, ...]] = {
    "en": (
        *LINK_TEMPLATES["en"],
        "{{ clinic }} video appt {{ when }}. Join, confirm or cancel: {{ link }} {{ clinic_phone }} STOP=opt out",
    ),
    "es": (
        *LINK_TEMPLATES["es"],
        "{{ clinic }} cita por video {{ when }}. Entrar o responder: {{ link }} {{ clinic_phone }} STOP=baja",
    ),
}


def default_template(language: str | None) -> str:
    """The template an office starts editing from."""
    return DEFAULT_TEMPLATES[normalize_language(language)][0]


def normalize_language(code: str | None) -> Language:
    """ "es", "es-MX", "ES_us" -> "es"; anything we have no wording for falls back to English."""
    base = (code or "").strip().lower().replace("_", "-").split("-")[0]
    return "es" if base == "es" else "en"


@dataclass(frozen=True)
class ReminderContext:
    """Everything a reminder may say, as plain values (the caller reads the models)."""

    patient_first_name: str
    clinic_name: str
    clinic_phone: str  # display format, e.g. (303) 555-0100
    provider_name: str  # Provider.display_name; may be empty
    starts_at: datetime  # aware
    timezone: str  # the clinic's IANA zone
    language: str = "en"
    kind: str = "in-person"
    visit_reason: str | None = None
    include_visit_reason: bool = False  # Office.include_visit_reason: the reason is PHI, off by default
    link: str | None = None
    clinic_phone_e164: str = ""  # what <Dial> calls; falls back to the display number

    def __post_init__(self) -> None:
        if self.starts_at.tzinfo is None or self.starts_at.utcoffset() is None:
            raise ValueError("starts_at must be timezone-aware")
        ZoneInfo(self.timezone)  # fail early on an unknown zone, not in the middle of a send

    @property
    def lang(self) -> Language:
        return normalize_language(self.language)

    @property
    def local_start(self) -> datetime:
        return self.starts_at.astimezone(ZoneInfo(self.timezone))


def format_when(ctx: ReminderContext, *, spoken: bool = False) -> tuple[str, str, str]:
    """(date, time, both) in the clinic's zone for the patient's language; `spoken` is the long form for <Say>."""
    return _format_local(ctx.local_start, ctx.lang, spoken)


@lru_cache(maxsize=4096)
def _format_local(local: datetime, lang: Language, spoken: bool) -> tuple[str, str, str]:
    """Babel is slow and appointments share their start times: cached (the dispatcher formats thousands)."""
    if lang == "es":
        day = format_date(local, "EEEE d 'de' MMMM" if spoken else "EEE d MMM", locale="es")
        clock = format_time(local, "H:mm", locale="es")
        joiner = "a la" if local.hour == 1 else "a las"  # a la 1:30, a las 10:30
        return day, clock, f"{day} {joiner} {clock}"
    day = format_date(local, "EEEE, MMMM d" if spoken else "EEE MMM d", locale="en_US")
    clock = format_time(local, "h:mm a", locale="en_US")
    return day, clock, f"{day} at {clock}"


def template_variables(ctx: ReminderContext, *, gsm_safe: bool = True) -> dict[str, object]:
    """The variables a template sees. `gsm_safe` spells values in GSM-7 ("María" -> "Maria", "sáb" -> "sab")
    so one accent in a name does not turn a one-segment text into three."""
    day, clock, when = format_when(ctx)
    reason = (ctx.visit_reason or "") if ctx.include_visit_reason else ""
    values = {
        "first_name": ctx.patient_first_name.strip(),
        "clinic": ctx.clinic_name.strip(),
        "clinic_phone": ctx.clinic_phone.strip(),
        "provider": ctx.provider_name.strip(),
        "date": day,
        "time": clock,
        "when": when,
        "kind": ctx.kind,
        "reason": reason.strip(),
        "link": (ctx.link or "").strip(),
        "options": OPTIONS[ctx.lang],
    }
    if gsm_safe:
        values = {key: to_gsm7(value) for key, value in values.items()}
    return {**values, "is_telehealth": ctx.kind == "telehealth"}


_ENV = ImmutableSandboxedEnvironment(autoescape=False, undefined=StrictUndefined)


@lru_cache(maxsize=256)
def _compile(source: str) -> Template:
    return _ENV.from_string(source)


class TemplateRenderError(ValueError):
    """A template failed at send time. The message names the problem, never a patient's data."""


@dataclass(frozen=True)
class RenderedSms:
    body: str
    segments: SegmentInfo


def _render(source: str, variables: dict[str, object]) -> str:
    body = _compile(source).render(variables)
    return re.sub(r"[ \t]{2,}", " ", body).strip()


def _first_cheapest(bodies: Iterable[str]) -> str:
    """The first one-segment text, else the first of the cheapest (rendering stops as soon as one fits)."""
    best, best_segments = "", 0
    for body in bodies:
        segments = max(count_segments(body).segments, 1)
        if segments == 1:
            return body
        if not best or segments < best_segments:
            best, best_segments = body, segments
    return best


def render_sms(template: str | None, ctx: ReminderContext, *, gsm_safe: bool = True) -> RenderedSms:
    """The reminder text for `ctx`; `template` None means the default for the patient's language. A video
    visit's text always carries the link (VIDEO_TEMPLATES); an office's own template without `{{ link }}` gets it
    at the end."""
    variables = template_variables(ctx, gsm_safe=gsm_safe)
    video_link = str(variables["link"]) if ctx.kind == "telehealth" else ""
    try:
        if template is not None:
            body = _render(template, variables)
            if video_link and video_link not in body:
                body = f"{body} {video_link}"
        else:
            if video_link:
                sources = VIDEO_TEMPLATES[ctx.lang]
            elif ctx.link:
                sources = (*LINK_TEMPLATES[ctx.lang], *DEFAULT_TEMPLATES[ctx.lang])
            else:
                sources = DEFAULT_TEMPLATES[ctx.lang]
            body = _first_cheapest(_render(source, variables) for source in sources)
    except TemplateError as exc:  # Jinja's messages name template parts (a variable, an attribute), never values
        raise TemplateRenderError(f"The template could not be rendered: {exc.message}.") from None
    except Exception as exc:  # staff-written code can fail any way ({{ 1/0 }}); Python's messages may hold values
        raise TemplateRenderError(f"The template could not be rendered: {type(exc).__name__}.") from None
    return RenderedSms(body, count_segments(body))


def sample_context(language: str = "en") -> ReminderContext:
    """Long-ish realistic values, used to measure templates before an office saves them."""
    return ReminderContext(
        patient_first_name="Alejandro",
        clinic_name="Riverside Family Medicine",
        clinic_phone="(303) 555-0100",
        provider_name="Dr. Anna Keller",
        starts_at=datetime(2026, 9, 30, 12, 30, tzinfo=ZoneInfo("America/Denver")),  # a long date: Wed Sep 30
        timezone="America/Denver",
        language=language,
        visit_reason="follow-up visit",
        include_visit_reason=True,
        link="https://r.example.com/a1b2c3",
    )


_DIGIT_OPTIONS = [re.compile(rf"(?<![\d:]){digit}(?![\d:])") for digit in "123"]
# Carrier keywords offered as an answer: upper-case CANCEL/END/QUIT, a quoted 'cancel', or "reply cancel".
_CARRIER_WORD_AS_ANSWER = (
    re.compile(r"\b(CANCEL|END|QUIT|UNSUBSCRIBE)\b"),
    re.compile(r"[\"'“‘]\s*cancel\s*[\"'”’]|\b(reply|text|send|responda|envie|escriba)\s+cancel", re.IGNORECASE),
)


def validate_template(source: str, language: str = "en") -> list[str]:
    """Readable problems with an office's template, checked when it is saved rather than when a reminder fails."""
    if len(source) > MAX_TEMPLATE_LENGTH:
        return [f"The template is longer than {MAX_TEMPLATE_LENGTH} characters."]
    if not source.strip():
        return ["The template is empty."]
    try:
        parsed = _ENV.parse(source)
        _compile(source)
    except TemplateSyntaxError as exc:
        return [f"Template syntax error on line {exc.lineno}: {exc.message}."]
    except TemplateError as exc:
        return [f"Template error: {exc.message}."]
    problems: list[str] = []
    used = meta.find_undeclared_variables(parsed)
    unknown = sorted(used - set(TEMPLATE_VARIABLES))
    if unknown:
        known = ", ".join(TEMPLATE_VARIABLES)
        problems.append(f"Unknown variable(s): {', '.join(unknown)}. Available: {known}.")
    literal = re.sub(r"\{[{%#].*?[}%#]\}", " ", source, flags=re.DOTALL)
    if "options" not in used and not all(p.search(literal) for p in _DIGIT_OPTIONS):
        problems.append(
            "The text does not tell the patient how to answer: add {{ options }} (1 confirm, 2 cancel, 3 reschedule)."
        )
    if any(p.search(literal) for p in _CARRIER_WORD_AS_ANSWER):
        problems.append(
            "Do not ask patients to reply CANCEL (or END/QUIT): carriers treat that word as an opt-out from all "
            "texts. Use the digit 2."
        )
    if problems:
        return problems
    try:
        body = render_sms(source, sample_context(language)).body
    except TemplateRenderError as exc:
        return [str(exc)]
    info = count_segments(body)
    if len(body) > FCC_MAX_CHARACTERS or info.segments > 1:
        why = f" (UCS-2 because of {''.join(non_gsm7_characters(body))})" if info.encoding == "UCS-2" else ""
        problems.append(
            f"With typical names the text is {len(body)} characters, {info.segments} segments{why}: "
            f"reminders must fit one text of at most {FCC_MAX_CHARACTERS} characters."
        )
    if "STOP" not in body:
        problems.append("The text must say how to opt out (e.g. 'STOP to opt out'), a condition of the FCC exemption.")
    return problems
