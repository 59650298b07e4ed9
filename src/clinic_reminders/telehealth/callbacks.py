"""Room and participant status callbacks: recorded as they come, and moving the room's row forward only.

Twilio sends room-created, participant-connected/-disconnected, track events and room-ended, possibly more than
once and out of order; a completed room never reopens.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..models import VideoEvent, VideoRoomStatus, VideoVisit, utcnow
from .tokens import is_patient

# What we keep of a callback: ids, states and durations; never anything a person typed.
KEPT_PARAMS = (
    "RoomName",
    "RoomStatus",
    "RoomType",
    "ParticipantSid",
    "ParticipantStatus",
    "ParticipantDuration",
    "RoomDuration",
    "TrackKind",
    "Timestamp",
)


def find_visit(db: Session, office_id: int, room_sid: str, room_name: str) -> VideoVisit | None:
    """The room's row, locked (callbacks for one room arrive concurrently: they take turns on its row)."""
    visit = db.scalar(
        select(VideoVisit).where(VideoVisit.office_id == office_id, VideoVisit.room_sid == room_sid).with_for_update()
    )
    if visit is None and room_name:  # the callback beat the REST answer, or the room was joined after a 53113
        visit = db.scalar(
            select(VideoVisit)
            .where(
                VideoVisit.office_id == office_id,
                VideoVisit.unique_name == room_name,
                or_(VideoVisit.room_sid.is_(None), VideoVisit.room_sid == room_sid),  # re-checked after a lock wait
            )
            .order_by(VideoVisit.id.desc())
            .limit(1)
            .with_for_update()
        )
        if visit is not None and room_sid and visit.room_sid is None:
            visit.room_sid = room_sid
    return visit


def record(db: Session, office_id: int, params: Mapping[str, str], now: datetime | None = None) -> VideoEvent:
    """Store one callback and apply it to its room's row (caller commits)."""
    now = now or utcnow()
    room_sid, event = params.get("RoomSid", ""), params.get("StatusCallbackEvent", "")
    visit = find_visit(db, office_id, room_sid, params.get("RoomName", ""))
    identity = params.get("ParticipantIdentity") or None
    sequence = params.get("SequenceNumber", "")
    row = VideoEvent(
        office_id=office_id,
        visit_id=visit.id if visit else None,
        room_sid=room_sid,
        event=event[:40],
        participant_identity=identity[:100] if identity else None,
        sequence_number=int(sequence) if sequence.isdigit() else None,
        params={k: params[k] for k in KEPT_PARAMS if k in params},
        received_at=now,
    )
    db.add(row)
    if visit is not None:
        _apply(visit, event, identity, now)
    db.flush()
    return row


def _apply(visit: VideoVisit, event: str, identity: str | None, now: datetime) -> None:
    if event == "room-ended":
        visit.status = VideoRoomStatus.COMPLETED
        visit.ended_at = visit.ended_at or now
    elif visit.status == VideoRoomStatus.REQUESTED and event in ("room-created", "participant-connected"):
        visit.status = VideoRoomStatus.IN_PROGRESS
    if event == "participant-connected" and identity:
        if is_patient(identity):
            visit.patient_joined_at = visit.patient_joined_at or now
        else:
            visit.provider_joined_at = visit.provider_joined_at or now
