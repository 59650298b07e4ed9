"""The short signed link in a patient's reminders: `<public URL>/p/<token>`.

The token is the link row's id in base62 followed by 8 base64url characters of HMAC-SHA256 (48 bits) under a key
derived for this purpose: about 10 characters, so the whole link is ~45 characters. The row makes it revocable
and holds its date-of-birth attempt counter. It expires `LINK_GRACE` after the appointment ends (the appointment's
current end: a moved appointment keeps its link working).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session, object_session

from .. import audit
from ..crypto import signing_key
from ..effective import twilio_config
from ..models import Appointment, Office, PatientLink, utcnow
from ..settings import Settings

LINK_PATH = "/p/"
LINK_GRACE = timedelta(hours=12)
MAX_DOB_ATTEMPTS = 5
DOB_LOCK = timedelta(minutes=30)
MAC_BYTES = 6  # 48 bits: 8 base64url characters
_ALPHABET = string.digits + string.ascii_letters


class LinkState(StrEnum):
    VALID = "valid"
    INVALID = "invalid"  # malformed or tampered: nothing about it can be trusted
    UNKNOWN = "unknown"  # well signed but no such row (deleted with its appointment)
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True)
class LinkCheck:
    state: LinkState
    link: PatientLink | None = None

    @property
    def ok(self) -> bool:
        return self.state is LinkState.VALID


def _b62(number: int) -> str:
    digits = ""
    while True:
        number, rest = divmod(number, 62)
        digits = _ALPHABET[rest] + digits
        if number == 0:
            return digits


def _from_b62(text: str) -> int | None:
    if not text or len(text) > 11 or (len(text) > 1 and text[0] == "0") or any(c not in _ALPHABET for c in text):
        return None  # one spelling per id: no leading zeros
    value = 0
    for char in text:
        value = value * 62 + _ALPHABET.index(char)
    return value


def _mac(secret_key: str, link_id: int) -> str:
    digest = hmac.new(signing_key(secret_key, "patient-link"), f"link:{link_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:MAC_BYTES]).decode()


def token_for(secret_key: str, link_id: int) -> str:
    return _b62(link_id) + _mac(secret_key, link_id)


def link_id_from(secret_key: str, token: str) -> int | None:
    """The link id if the token is well formed and its MAC matches; None otherwise."""
    mac_len = len(_mac(secret_key, 0))
    if len(token) <= mac_len:
        return None
    link_id = _from_b62(token[:-mac_len])
    if link_id is None or not hmac.compare_digest(token[-mac_len:], _mac(secret_key, link_id)):
        return None
    return link_id


def expires_at(appointment: Appointment) -> datetime:
    return appointment.ends_at + LINK_GRACE


def check(db: Session, settings: Settings, token: str, now: datetime | None = None) -> LinkCheck:
    link_id = link_id_from(settings.secret_key_value, token)
    if link_id is None:
        return LinkCheck(LinkState.INVALID)
    link = db.get(PatientLink, link_id)
    if link is None:
        return LinkCheck(LinkState.UNKNOWN)
    if link.revoked_at is not None:
        return LinkCheck(LinkState.REVOKED, link)
    if (now or utcnow()) >= expires_at(link.appointment):
        return LinkCheck(LinkState.EXPIRED, link)
    return LinkCheck(LinkState.VALID, link)


def _active_link(db: Session, appointment_id: int) -> PatientLink | None:
    return db.scalar(
        select(PatientLink)
        .where(PatientLink.appointment_id == appointment_id, PatientLink.revoked_at.is_(None))
        .order_by(PatientLink.id.desc())
        .limit(1)
    )


def public_base(db: Session, settings: Settings, office_id: int) -> str:
    office = db.get(Office, office_id)
    base = twilio_config(settings, office).public_url if office else settings.public_url
    return (base or f"http://{settings.host}:{settings.port}").rstrip("/")


def make_patient_link(db: Session, settings: Settings, appointment: Appointment) -> str:
    """The appointment's absolute short link (~45 characters), reusing its unrevoked link (caller commits).

    Signed, expiring `LINK_GRACE` after the appointment ends, revocable with `revoke_links`.
    """
    return patient_links(db, settings, [appointment])[appointment.id]


def patient_links(db: Session, settings: Settings, appointments: Sequence[Appointment]) -> dict[int, str]:
    """`make_patient_link` for a batch (the dispatcher's): one query, one flush, whatever the batch's size."""
    ids = [a.id for a in appointments]
    live: dict[int, PatientLink] = {}
    for link in db.scalars(
        select(PatientLink)
        .where(PatientLink.appointment_id.in_(ids), PatientLink.revoked_at.is_(None))
        .order_by(PatientLink.id)
    ):
        live[link.appointment_id] = link  # the newest unrevoked one wins
    missing = [a for a in appointments if a.id not in live]
    for appointment in missing:
        live[appointment.id] = PatientLink(office_id=appointment.office_id, appointment_id=appointment.id)
        db.add(live[appointment.id])
    if missing:
        db.flush()
    bases = {office_id: public_base(db, settings, office_id) for office_id in {a.office_id for a in appointments}}
    key = settings.secret_key_value
    return {a.id: bases[a.office_id] + LINK_PATH + token_for(key, live[a.id].id) for a in appointments}


def revoke_links(db: Session, appointment: Appointment, actor: str, now: datetime | None = None) -> int:
    """Revoke every live link of the appointment; a later reminder gets a new one. Returns how many."""
    result = db.execute(
        update(PatientLink)
        .where(PatientLink.appointment_id == appointment.id, PatientLink.revoked_at.is_(None))
        .values(revoked_at=now or utcnow(), revoked_by=actor)
        .execution_options(synchronize_session="fetch")
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    audit.record(db, appointment.office_id, actor, "revoke-links", "appointment", appointment.id, count=count)
    return count


class DobResult(StrEnum):
    OK = "ok"
    WRONG = "wrong"
    LOCKED = "locked"  # too many wrong answers: refused even when right, until `locked_until`
    NO_DOB = "no-dob"  # no date of birth on file: the patient must call the clinic


def locked(link: PatientLink, now: datetime) -> bool:
    return link.locked_until is not None and now < link.locked_until


def check_dob(link: PatientLink, answer: date | None, now: datetime | None = None) -> DobResult:
    """Compare the answer with the patient's date of birth; the 5th wrong answer locks the link (caller commits)."""
    now = now or utcnow()
    if locked(link, now):
        return DobResult.LOCKED
    expected = link.appointment.patient.date_of_birth
    if expected is None:
        return DobResult.NO_DOB
    if answer is not None and answer == expected:
        link.failed_attempts = 0
        link.locked_until = None
        link.last_opened_at = now
        return DobResult.OK
    link.failed_attempts += 1
    if link.failed_attempts >= MAX_DOB_ATTEMPTS:
        link.failed_attempts = 0
        link.locked_until = now + DOB_LOCK
        audit.record(db_of(link), link.office_id, "patient:link", "link-locked", "appointment", link.appointment_id)
        return DobResult.LOCKED
    return DobResult.WRONG


def db_of(row: PatientLink) -> Session:
    session = object_session(row)
    assert session is not None, "the link must belong to a session"
    return session
