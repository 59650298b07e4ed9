"""Video rooms for telehealth appointments and the office's test chat, and who may join when.

A visit's room is a Twilio group room named `appt-<id>-<hash>` (no PHI; the hash keeps names unguessable),
created when the provider starts the visit or when the patient joins within `room_lead` of the start. The row is
written before Twilio is called; status callbacks (callbacks.py) move it forward.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..crypto import signing_key
from ..effective import TwilioConfig, twilio_config
from ..gateways import TwilioError
from ..models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    Office,
    VideoPurpose,
    VideoRoomStatus,
    VideoVisit,
    utcnow,
)
from ..settings import Settings
from .tokens import VideoToken, patient_identity, provider_identity, staff_identity, video_token

STATUS_CALLBACK_PATH = "/twilio/video-status"
SIGNALING_PATH = "/video/signaling"  # the simulator's stand-in for wss://global.vss.twilio.com/signaling
EMPTY_ROOM_TIMEOUT_MIN = 10  # a dropped provider or patient can come back
UNUSED_ROOM_TIMEOUT_MIN = 30  # a room nobody joined closes itself
VISIT_MAX_PARTICIPANTS = 3  # provider, patient, and an interpreter or carer
TEST_CHAT_TTL = timedelta(hours=1)


@dataclass(frozen=True)
class VideoPolicy:
    """When a patient may join: `room_lead` before the start until `end_margin` after the end."""

    room_lead: timedelta = timedelta(minutes=15)
    end_margin: timedelta = timedelta(minutes=30)

    @classmethod
    def from_settings(cls, settings: Settings) -> VideoPolicy:
        # Read if the settings carry them (REMINDERS_VIDEO_ROOM_LEAD_MINUTES...); the defaults otherwise.
        lead = getattr(settings, "video_room_lead_minutes", None)
        margin = getattr(settings, "video_end_margin_minutes", None)
        return cls(
            room_lead=timedelta(minutes=int(lead)) if lead is not None else cls.room_lead,
            end_margin=timedelta(minutes=int(margin)) if margin is not None else cls.end_margin,
        )


class Refusal(StrEnum):
    NOT_TELEHEALTH = "not-telehealth"
    NOT_ACTIVE = "not-active"  # cancelled, completed...
    TOO_EARLY = "too-early"
    ENDED = "ended"
    NOT_CONFIGURED = "not-configured"
    TWILIO_FAILED = "twilio-failed"


class VideoUnavailable(Exception):
    """No video for this appointment now; `refusal` says why (safe to show and log: no patient data)."""

    def __init__(self, refusal: Refusal, detail: str = "") -> None:
        super().__init__(detail or refusal.value)
        self.refusal = refusal
        self.detail = detail or refusal.value


def room_name(settings: Settings, appointment_id: int) -> str:
    mac = hmac.new(signing_key(settings.secret_key_value, "video-room"), str(appointment_id).encode(), hashlib.sha256)
    return f"appt-{appointment_id}-{mac.hexdigest()[:8]}"


def signaling_url(config: TwilioConfig) -> str | None:
    """The SDK's signalling server when Twilio is simulated (TWILIO_API_BASE_URL set); None for real Twilio."""
    if not config.base_url:
        return None
    parts = urlsplit(config.base_url.rstrip("/"))
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path + SIGNALING_PATH, "", ""))


def visit_closes_at(appointment: Appointment, policy: VideoPolicy) -> datetime:
    return appointment.ends_at + policy.end_margin


def check_visit(appointment: Appointment, now: datetime, policy: VideoPolicy, *, provider: bool) -> None:
    """Raise VideoUnavailable unless the visit may be joined now (providers may start early)."""
    if appointment.kind != AppointmentKind.TELEHEALTH:
        raise VideoUnavailable(Refusal.NOT_TELEHEALTH)
    if appointment.status not in (*ACTIVE_STATUSES, AppointmentStatus.RESCHEDULE_REQUESTED):
        raise VideoUnavailable(Refusal.NOT_ACTIVE)
    if now >= visit_closes_at(appointment, policy):
        raise VideoUnavailable(Refusal.ENDED)
    if not provider and now < appointment.starts_at - policy.room_lead:
        raise VideoUnavailable(Refusal.TOO_EARLY)


def open_visit(db: Session, appointment_id: int) -> VideoVisit | None:
    """The appointment's room that has not ended, if any."""
    return db.scalar(
        select(VideoVisit)
        .where(VideoVisit.appointment_id == appointment_id, VideoVisit.status.in_(_OPEN))
        .order_by(VideoVisit.id.desc())
        .limit(1)
    )


_OPEN = (VideoRoomStatus.REQUESTED, VideoRoomStatus.IN_PROGRESS)


def _create_room(db: Session, config: TwilioConfig, visit: VideoVisit, *, max_participants: int) -> VideoVisit:
    """Write the row, then ask Twilio; commit at once, as status callbacks lock this row and must not wait.

    A room of that name already in progress (Twilio's 53113) is joined, not an error.
    """
    db.add(visit)
    db.commit()
    try:
        room = config.gateway().create_video_room(
            visit.unique_name,
            max_participants=max_participants,
            empty_room_timeout=EMPTY_ROOM_TIMEOUT_MIN,
            unused_room_timeout=UNUSED_ROOM_TIMEOUT_MIN,
            status_callback=config.url(STATUS_CALLBACK_PATH),
        )
    except TwilioError as exc:
        if exc.code == 53113:  # another request created it a moment ago: same name, same room
            other = db.scalar(
                select(VideoVisit).where(
                    VideoVisit.unique_name == visit.unique_name,
                    VideoVisit.id != visit.id,
                    VideoVisit.status.in_(_OPEN),
                )
            )
            if other is not None:
                db.delete(visit)
                db.commit()
                return other
            visit.status = VideoRoomStatus.IN_PROGRESS
            db.commit()
            return visit
        visit.status = VideoRoomStatus.FAILED
        db.commit()
        raise VideoUnavailable(Refusal.TWILIO_FAILED, exc.reason) from None
    db.refresh(visit, with_for_update=True)  # callbacks may have moved it on meanwhile (even to completed)
    visit.room_sid = room.sid
    if visit.status == VideoRoomStatus.REQUESTED:
        visit.status = VideoRoomStatus.IN_PROGRESS
    db.commit()
    return visit


def _config(settings: Settings, office: Office) -> TwilioConfig:
    config = twilio_config(settings, office)
    if not (config.account_sid and config.auth_token and config.api_key and config.api_secret):
        raise VideoUnavailable(
            Refusal.NOT_CONFIGURED, "video needs the account SID, auth token, API key and API secret (set-up page)"
        )
    return config


def ensure_room(db: Session, settings: Settings, office: Office, appointment: Appointment, actor: str) -> VideoVisit:
    """The appointment's open room, created at Twilio if there is none yet (commits)."""
    config = _config(settings, office)
    visit = open_visit(db, appointment.id)
    if visit is not None:
        return visit
    visit = VideoVisit(
        office_id=office.id,
        appointment_id=appointment.id,
        purpose=VideoPurpose.VISIT,
        unique_name=room_name(settings, appointment.id),
        started_by=actor,
    )
    return _create_room(db, config, visit, max_participants=VISIT_MAX_PARTICIPANTS)


def provider_join(
    db: Session, settings: Settings, office: Office, appointment: Appointment, user_id: int, now: datetime | None = None
) -> tuple[VideoVisit, VideoToken, str | None]:
    """ "Start video visit": the room (created now if needed) and a token for the provider (or the staff user)."""
    now = now or utcnow()
    policy = VideoPolicy.from_settings(settings)
    check_visit(appointment, now, policy, provider=True)
    visit = ensure_room(db, settings, office, appointment, actor=f"user:{user_id}")
    config = _config(settings, office)
    identity = provider_identity(appointment.provider_id) if appointment.provider_id else staff_identity(user_id)
    token = video_token(
        config, identity=identity, room=visit.unique_name, valid_until=visit_closes_at(appointment, policy), now=now
    )
    return visit, token, signaling_url(config)


def patient_join(
    db: Session, settings: Settings, office: Office, appointment: Appointment, now: datetime | None = None
) -> tuple[VideoVisit, VideoToken, str | None]:
    """The patient's token, from `room_lead` before the start; creates the room if the provider has not."""
    now = now or utcnow()
    policy = VideoPolicy.from_settings(settings)
    check_visit(appointment, now, policy, provider=False)
    visit = ensure_room(db, settings, office, appointment, actor="patient:link")
    config = _config(settings, office)
    token = video_token(
        config,
        identity=patient_identity(appointment.patient_id),
        room=visit.unique_name,
        valid_until=visit_closes_at(appointment, policy),
        now=now,
    )
    return visit, token, signaling_url(config)


def ensure_rooms_due(db: Session, settings: Settings, office: Office, now: datetime | None = None) -> int:
    """Create the rooms of telehealth visits starting within `room_lead` (for a periodic job); returns how many."""
    now = now or utcnow()
    policy = VideoPolicy.from_settings(settings)
    due = db.scalars(
        select(Appointment).where(
            Appointment.office_id == office.id,
            Appointment.kind == AppointmentKind.TELEHEALTH,
            Appointment.status.in_(ACTIVE_STATUSES),
            Appointment.starts_at <= now + policy.room_lead,
            Appointment.starts_at > now - policy.room_lead,
        )
    ).all()
    created = 0
    for appointment in due:
        if open_visit(db, appointment.id) is None:
            ensure_room(db, settings, office, appointment, actor="system")
            created += 1
    db.commit()
    return created


def start_test_chat(
    db: Session, settings: Settings, office: Office, user_id: int
) -> tuple[VideoVisit, list[VideoToken], str | None]:
    """The set-up page's test chat: a fresh two-person room and a token for each end (one hour)."""
    config = _config(settings, office)
    visit = VideoVisit(
        office_id=office.id,
        appointment_id=None,
        purpose=VideoPurpose.TEST,
        unique_name=f"test-{secrets.token_hex(6)}",
        started_by=f"user:{user_id}",
    )
    _create_room(db, config, visit, max_participants=2)
    until = utcnow() + TEST_CHAT_TTL
    tokens = [
        video_token(config, identity=f"{visit.unique_name}-{end}", room=visit.unique_name, valid_until=until)
        for end in ("a", "b")
    ]
    return visit, tokens, signaling_url(config)
