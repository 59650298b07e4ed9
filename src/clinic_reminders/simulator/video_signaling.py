"""Video participants: the SDK's signalling WebSocket and a join/leave API, with signed participant callbacks.

The Twilio Video SDK connects to `wss://global.vss.twilio.com/signaling`; its `wsServer` option points it here
(`<simulator>/video/signaling`). This speaks just enough of its protocol (TCMP hello/welcome/heartbeat carrying
RSP v2 ice/connect/update/disconnect messages) for `Video.connect()` to check the token, join the room and see
others join and leave. No media: there is no SFU, SDP offers are not answered, tracks never arrive.

    GET  api/video/rooms                       rooms with their participants
    POST api/video/join   {"token", "room"?}   a participant without a browser (e.g. the provider, in a test)
    POST api/video/leave  {"participant_sid"}
Tokens are checked as Twilio does (video_tokens.py); errors carry Twilio's codes (20101-20107, 53105, 53106).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from .state import Participant, Room, new_sid, now
from .video_tokens import VideoTokenError, check_video_token

if TYPE_CHECKING:
    from .core import Simulator

SIGNALING_PATH = "/video/signaling"
ROOM_ERRORS = {53105: "Room contains too many Participants", 53106: "Room not found"}


class RoomError(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(ROOM_ERRORS[code])
        self.code = code
        self.message = ROOM_ERRORS[code]


@dataclass
class _Session:
    """One SDK connection; `send` is serialised so notifications from other sessions never interleave."""

    ws: WebSocket
    room: Room | None = None
    participant: Participant | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, body: dict[str, Any] | None = None, kind: str = "msg", **extra: Any) -> None:
        message: dict[str, Any] = {"type": kind, **extra}
        if body is not None:
            message["body"] = body
        async with self.lock:
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await self.ws.send_text(json.dumps(message))


_SESSIONS: weakref.WeakKeyDictionary[Simulator, dict[str, _Session]] = weakref.WeakKeyDictionary()


def _sessions(sim: Simulator) -> dict[str, _Session]:
    return _SESSIONS.setdefault(sim, {})


def _state(p: Participant) -> dict[str, Any]:
    return {"sid": p.sid, "identity": p.identity, "revision": p.revision, "state": p.status, "tracks": []}


def _event(sim: Simulator, room: Room, event: str, p: Participant) -> None:
    from .api_v1 import _room_event

    extra = [
        ("ParticipantSid", p.sid),
        ("ParticipantIdentity", p.identity),
        ("ParticipantStatus", p.status),
    ]
    if p.status == "disconnected":
        extra.append(("ParticipantDuration", str(p.duration)))
    _room_event(sim, room, event, extra)


def _notify(sim: Simulator, room: Room, changed: Participant) -> None:
    """Tell every other connected SDK in the room that `changed` joined or left."""
    body = {"type": "update", "version": 2, "participants": [_state(changed)]}
    for sid, session in list(_sessions(sim).items()):
        if sid != changed.sid and session.room is room:
            sim.spawn(session.send(body))


def join(sim: Simulator, token: str, room_name: str | None = None) -> tuple[Room, Participant]:
    """Check the token, find the in-progress room (rooms are created by REST: no client-side creation), join it."""
    grant = check_video_token(sim.store, token)
    name = room_name or grant.room
    if grant.room and name != grant.room:
        raise VideoTokenError(20106)
    room = next(
        (
            r
            for r in sim.store.rooms.values()
            if r.account_sid == grant.account.sid and r.status == "in-progress" and name in (r.unique_name, r.sid)
        ),
        None,
    )
    if room is None:
        raise RoomError(53106)
    for old in room.connected():
        if old.identity == grant.identity:  # Twilio: the newer connection wins (53205 to the older)
            leave(sim, room, old, error=53205)
    if len(room.connected()) >= room.max_participants:
        raise RoomError(53105)
    participant = Participant(sid=new_sid("PA"), identity=grant.identity)
    room.participants[participant.sid] = participant
    _event(sim, room, "participant-connected", participant)
    _notify(sim, room, participant)
    return room, participant


def leave(sim: Simulator, room: Room, participant: Participant, error: int | None = None) -> None:
    """Disconnect; an SDK still connected as this participant is told why (`error`) or that it is over."""
    if participant.status != "connected":
        return
    participant.status = "disconnected"
    participant.revision += 1
    participant.end_time = now()
    _event(sim, room, "participant-disconnected", participant)
    _notify(sim, room, participant)
    session = _sessions(sim).pop(participant.sid, None)
    if session is not None:
        body = {"type": "disconnected", "version": 2, "status": "completed" if room.status == "completed" else "none"}
        if error is not None:
            body = {"type": "error", "code": error, "message": "Participant disconnected because of duplicate identity"}
        sim.spawn(session.send(body))


def end_room(sim: Simulator, room: Room) -> None:
    """Room completed (REST Status=completed): everyone is disconnected, then room-ended."""
    room.status = "completed"
    room.end_time = room.date_updated = now()
    for participant in room.connected():
        leave(sim, room, participant)
    from .api_v1 import _room_event

    _room_event(sim, room, "room-ended")


def _connected_body(room: Room, me: Participant, message: dict[str, Any]) -> dict[str, Any]:
    tracks = (message.get("participant") or {}).get("tracks") or []
    published = [{"id": t.get("id"), "sid": new_sid("MT")} for t in tracks if isinstance(t, dict)]
    return {
        "type": "connected",
        "version": 2,
        "session": secrets.token_hex(16),
        "sid": room.sid,
        "name": room.unique_name,
        "options": {"session_timeout": 30, "media_region": "us1", "signaling_region": "us1"},
        "participant": _state(me),
        "participants": [_state(p) for p in room.connected() if p.sid != me.sid],
        "peer_connections": [],
        "recording": {"enabled": False, "revision": 1},
        "published": {"revision": 1, "tracks": published},
        "subscribed": {"revision": 1, "tracks": []},
    }


async def _rsp(sim: Simulator, session: _Session, message: dict[str, Any]) -> bool:
    """Handle one RSP message; False when the connection should close."""
    kind = message.get("type")
    try:
        if kind == "ice":
            check_video_token(sim.store, str(message.get("token", "")))
            await session.send({"type": "iced", "version": 1, "ice_servers": []})
        elif kind == "connect":
            room, me = join(sim, str(message.get("token", "")), message.get("name") or None)
            session.room, session.participant = room, me
            _sessions(sim)[me.sid] = session
            await session.send(_connected_body(room, me, message))
        elif kind == "sync" and session.room is not None and session.participant is not None:
            body = _connected_body(session.room, session.participant, message)
            await session.send({**body, "type": "synced"})
        elif kind == "disconnect":
            return False
    except (VideoTokenError, RoomError) as exc:
        await session.send({"type": "error", "code": exc.code, "message": exc.message})
        return False
    return True


async def serve_signaling(sim: Simulator, scope: Scope, receive: Receive, send: Send) -> None:
    ws = WebSocket(scope, receive, send)
    await ws.accept()
    session = _Session(ws)
    beat: asyncio.Task[None] | None = None
    try:
        while True:
            message = json.loads(await ws.receive_text())
            kind = message.get("type") if isinstance(message, dict) else None
            if kind == "hello":
                timeout = int(message.get("timeout") or 5000)
                await session.send(None, "welcome", id=message.get("id"), negotiatedTimeout=timeout)
                if beat is None:
                    beat = asyncio.create_task(_heartbeats(session, timeout / 2000))
                body = message.get("body")
                if isinstance(body, dict) and not await _rsp(sim, session, body):
                    break
            elif kind == "msg" and isinstance(message.get("body"), dict):
                if not await _rsp(sim, session, message["body"]):
                    break
            elif kind == "bye":
                break
    except (WebSocketDisconnect, ValueError, RuntimeError):
        pass
    finally:
        if beat is not None:
            beat.cancel()
        if session.room is not None and session.participant is not None:
            _sessions(sim).pop(session.participant.sid, None)
            leave(sim, session.room, session.participant)
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await ws.close()


async def _heartbeats(session: _Session, every_s: float) -> None:
    while True:
        await asyncio.sleep(max(every_s, 0.05))
        await session.send(None, "heartbeat")


def _summary(room: Room) -> dict[str, Any]:
    return {
        "sid": room.sid,
        "unique_name": room.unique_name,
        "status": room.status,
        "participants": [
            {"sid": p.sid, "identity": p.identity, "status": p.status} for p in room.participants.values()
        ],
    }


def video_routes(sim: Simulator) -> list[Route]:
    async def rooms(request: Request) -> JSONResponse:
        return JSONResponse([_summary(r) for r in sim.store.rooms.values()])

    async def join_room(request: Request) -> JSONResponse:
        data = await request.json()
        try:
            room, participant = join(sim, str(data.get("token", "")), data.get("room") or None)
        except (VideoTokenError, RoomError) as exc:
            status = 401 if isinstance(exc, VideoTokenError) else 404 if exc.code == 53106 else 409
            return JSONResponse({"code": exc.code, "message": exc.message}, status_code=status)
        return JSONResponse({"participant_sid": participant.sid, "room": _summary(room)})

    async def leave_room(request: Request) -> JSONResponse:
        sid = str((await request.json()).get("participant_sid", ""))
        for room in sim.store.rooms.values():
            participant = room.participants.get(sid)
            if participant is not None:
                leave(sim, room, participant)
                return JSONResponse({"room": _summary(room)})
        return JSONResponse({"error": "no such participant"}, status_code=404)

    return [
        Route("/api/video/rooms", rooms, methods=["GET"]),
        Route("/api/video/join", join_room, methods=["POST"]),
        Route("/api/video/leave", leave_room, methods=["POST"]),
    ]
