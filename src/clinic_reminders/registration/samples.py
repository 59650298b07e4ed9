"""What the A2P 10DLC campaign tells carriers the office sends: sample messages rendered from the office's own
templates, and our HELP, STOP and START answers, in each language the office uses. What is registered is what is
sent: carriers compare the two, and a campaign whose samples do not match its traffic is rejected or filtered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..messaging.compose import LANGUAGES, Language, ReminderContext, normalize_language, render_sms
from ..messaging.reply_texts import ReplyKind, reply_text
from ..models import AppointmentKind, BusinessProfile, Clinic, Office, Patient, Provider
from ..phones import display
from ..settings import Settings
from ..telehealth.links import LINK_PATH, public_base, token_for

USE_CASE = "ACCOUNT_NOTIFICATION"  # Twilio's use case for appointment reminders (check /Compliance/Usa2p/Usecases)
MAX_SAMPLES = 5  # Twilio takes two to five samples of 20 to 1,024 characters
MAX_KEYWORD_ANSWER = 320  # HELP and STOP answers: 20 to 320 characters
OPT_OUT_KEYWORDS = ("STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "REVOKE", "OPTOUT", "BAJA")
OPT_IN_KEYWORDS = ("START", "UNSTOP")
HELP_KEYWORDS = ("HELP", "INFO", "AYUDA")
SAMPLE_FIRST_NAMES: dict[Language, str] = {"en": "Maria", "es": "Lucia"}


@dataclass(frozen=True)
class CampaignTexts:
    description: str
    message_flow: str
    samples: list[str]
    help_message: str
    opt_out_message: str
    opt_in_message: str
    has_embedded_links: bool
    has_embedded_phone: bool


def office_languages(db: Session, office: Office) -> list[Language]:
    """English first, then every other language the office has patients or a template in."""
    used = {normalize_language(code) for code in (office.sms_templates or {})}
    used |= {
        normalize_language(code)
        for code in db.scalars(select(Patient.language).where(Patient.office_id == office.id).distinct())
    }
    return [language for language in LANGUAGES if language in used or language == "en"]


def _joined(texts: list[str]) -> str:
    """The answers in each language, as one text while it fits Twilio's limit, else the first language's."""
    both = " / ".join(texts)
    return both if len(both) <= MAX_KEYWORD_ANSWER else texts[0]


def campaign_texts(db: Session, office: Office, profile: BusinessProfile, link: str | None) -> CampaignTexts:
    """`link`: what a patient's link looks like (telehealth.links), as reminders carry one when it fits."""
    clinic = db.scalar(
        select(Clinic).where(Clinic.office_id == office.id, Clinic.active.is_(True)).order_by(Clinic.id).limit(1)
    )
    provider = db.scalar(
        select(Provider).where(Provider.office_id == office.id, Provider.active.is_(True)).order_by(Provider.id)
    )
    name = clinic.name if clinic else (profile.legal_name or office.name)
    phone = display(clinic.phone) if clinic else display(profile.contact_phone) if profile.contact_phone else ""
    zone = clinic.timezone if clinic else "America/New_York"
    tomorrow = datetime.now(UTC).astimezone(ZoneInfo(zone)).replace(hour=9, minute=30, second=0, microsecond=0)
    tomorrow += timedelta(days=1)
    languages = office_languages(db, office)
    samples: list[str] = []
    for kind in (AppointmentKind.IN_PERSON, AppointmentKind.TELEHEALTH):
        for language in languages:
            ctx = ReminderContext(
                patient_first_name=SAMPLE_FIRST_NAMES[language],
                clinic_name=name,
                clinic_phone=phone,
                provider_name=provider.display_name if provider else "",
                starts_at=tomorrow,
                timezone=zone,
                language=language,
                kind=kind,
                include_visit_reason=False,
                link=link,
            )
            samples.append(render_sms((office.sms_templates or {}).get(language), ctx).body)
    samples = samples[:MAX_SAMPLES]

    def answers(kind: ReplyKind) -> str:
        texts = [reply_text(kind, language, clinic_name=name, clinic_phone=phone) or "" for language in languages]
        return _joined([text for text in texts if text])

    legal = profile.legal_name or office.name
    return CampaignTexts(
        description=(
            f"Appointment reminders from {legal} to its patients: a text before each visit that the patient "
            "answers to confirm, cancel or ask for a new time, and the office's replies to their questions."
        ),
        message_flow=profile.consent_flow,
        samples=samples,
        help_message=answers(ReplyKind.HELP),
        opt_out_message=answers(ReplyKind.OPTED_OUT),
        opt_in_message=answers(ReplyKind.OPTED_IN),
        has_embedded_links=any("http" in sample for sample in samples),
        has_embedded_phone=bool(phone),
    )


def example_link(db: Session, settings: Settings, office: Office) -> str:
    """What a patient's link in a reminder looks like for this office (its length counts in the samples)."""
    return public_base(db, settings, office.id) + LINK_PATH + token_for(settings.secret_key_value, 1)
