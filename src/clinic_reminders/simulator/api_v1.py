"""Twilio's v1/v2 domains the service uses: Video rooms, Monitor alerts and Lookup v2 line types.

On Twilio these live on their own hosts (video., monitor., lookups.twilio.com); here they share the
simulator's base URL, as the gateway points every domain at it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import unquote

from .magic import LANDLINES
from .rest import ApiError, RestRequest, Result, Route, page_v1, route
from .shapes import alert_instance_json, alert_json, lookup_json, room_json
from .state import Room, new_sid, now

if TYPE_CHECKING:
    from .core import Simulator

ROUTES: list[Route] = []


@route(ROUTES, "POST", r"/v1/Rooms", account_in_path=False)
def create_room(sim: Simulator, req: RestRequest) -> Result:
    sid = new_sid("RM")
    name = req.arg("UniqueName") or sid
    if any(r.unique_name == name and r.status == "in-progress" for r in sim.store.rooms.values()):
        raise ApiError(53113)
    room_type = req.arg("Type") or "group"
    if room_type not in ("group", "go", "peer-to-peer", "group-small"):
        raise ApiError(20001, value="Type")
    room = Room(
        sid=sid,
        account_sid=req.account.sid,
        unique_name=name,
        type=room_type,
        status="in-progress",
        max_participants=req.int_arg("MaxParticipants", 50),
        empty_room_timeout=req.int_arg("EmptyRoomTimeout", 5),
        unused_room_timeout=req.int_arg("UnusedRoomTimeout", 5),
        status_callback=req.arg("StatusCallback"),
        status_callback_method=(req.arg("StatusCallbackMethod") or "POST").upper(),
    )
    sim.store.rooms[room.sid] = room
    _room_event(sim, room, "room-created")
    return 201, room_json(room, req.base_url)


def _find_room(sim: Simulator, req: RestRequest) -> Room:
    key = req.match["room"]
    room = sim.store.rooms.get(key) or next(
        (r for r in sim.store.rooms.values() if r.unique_name == key and r.status == "in-progress"), None
    )
    if room is None or room.account_sid != req.account.sid:
        raise ApiError(20404, path=req.path)
    return room


@route(ROUTES, "GET", r"/v1/Rooms/(?P<room>[^/]+)", account_in_path=False)
def fetch_room(sim: Simulator, req: RestRequest) -> Result:
    return 200, room_json(_find_room(sim, req), req.base_url)


@route(ROUTES, "POST", r"/v1/Rooms/(?P<room>[^/]+)", account_in_path=False)
def update_room(sim: Simulator, req: RestRequest) -> Result:
    room = _find_room(sim, req)
    if req.arg("Status") != "completed":
        raise ApiError(20001, value="Status")
    if room.status == "in-progress":
        from .video_signaling import end_room  # participants leave first, as on Twilio

        end_room(sim, room)
    return 200, room_json(room, req.base_url)


@route(ROUTES, "GET", r"/v1/Rooms", account_in_path=False)
def list_rooms(sim: Simulator, req: RestRequest) -> Result:
    status, name = req.arg("Status"), req.arg("UniqueName")
    found = [
        r
        for r in reversed(sim.store.rooms.values())
        if r.account_sid == req.account.sid
        and (status is None or r.status == status)
        and (name is None or r.unique_name == name)
    ]
    return page_v1(req, "rooms", found, lambda r: room_json(r, req.base_url))


def _room_event(sim: Simulator, room: Room, event: str, extra: list[tuple[str, str]] | None = None) -> None:
    """A signed room status callback; `extra` adds the participant's fields for participant events."""
    sequence, room.sequence = room.sequence, room.sequence + 1
    if not room.status_callback:
        return
    params = [
        ("AccountSid", room.account_sid),
        ("RoomName", room.unique_name),
        ("RoomSid", room.sid),
        ("RoomStatus", room.status),
        ("RoomType", room.type),
        ("StatusCallbackEvent", event),
        ("Timestamp", now().strftime("%Y-%m-%dT%H:%M:%S.000Z")),
        ("SequenceNumber", str(sequence)),
        *(extra or []),
    ]
    account = sim.store.accounts[room.account_sid]
    sim.spawn(
        sim.webhooks.send(account, room.status_callback, room.status_callback_method, params, resource_sid=room.sid)
    )


@route(ROUTES, "GET", r"/v1/Alerts", account_in_path=False)
def list_alerts(sim: Simulator, req: RestRequest) -> Result:
    level = req.arg("LogLevel")
    start, end = _iso(req.arg("StartDate")), _iso(req.arg("EndDate"))
    found = [
        a
        for a in reversed(sim.store.alerts)
        if a.account_sid == req.account.sid
        and (level is None or a.log_level == level)
        and (start is None or a.date_created >= start)
        and (end is None or a.date_created <= end)
    ]
    return page_v1(req, "alerts", found, lambda a: alert_json(a, req.base_url))


@route(ROUTES, "GET", r"/v1/Alerts/(?P<sid>NO[0-9a-fA-F]{32})", account_in_path=False)
def fetch_alert(sim: Simulator, req: RestRequest) -> Result:
    alert = next((a for a in sim.store.alerts if a.sid == req.match["sid"]), None)
    if alert is None or alert.account_sid != req.account.sid:
        raise ApiError(20404, path=req.path)
    return 200, alert_instance_json(alert, req.base_url)


def _iso(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(20001, value="StartDate/EndDate") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@route(ROUTES, "GET", r"/v2/PhoneNumbers/(?P<number>[^/]+)", account_in_path=False)
def lookup(sim: Simulator, req: RestRequest) -> Result:
    number = unquote(req.match["number"])
    line_type = "landline" if number in LANDLINES else "mobile"
    return 200, lookup_json(number, line_type, req.base_url)
