"""Video visits end to end against the simulator: the app served on a port, the room created through the gateway,
signed status callbacks recorded as participants join and leave, tokens checked by the simulator as Twilio would
(also over the SDK's signalling WebSocket), and room creation checked against Twilio's spec by Prism."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VideoGrant
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from clinic_reminders.effective import twilio_config
from clinic_reminders.gateways import TwilioGateway
from clinic_reminders.models import Appointment, AppointmentKind, Office, VideoEvent, VideoRoomStatus, VideoVisit
from clinic_reminders.settings import Settings
from clinic_reminders.simulator import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, SimulatorConfig
from clinic_reminders.telehealth import rooms
from clinic_reminders.telehealth.links import make_patient_link
from clinic_reminders.telehealth.tokens import video_token
from clinic_reminders.web.app import create_app
from tests.conftest import TEST_SECRET_KEY
from tests.factories import (
    make_appointment,
    make_clinic,
    make_office,
    make_patient,
    make_provider,
    make_token,
    make_user,
)
from tests.fixtures.simulator import LateApp, SimulatorClient, ThreadedServer, default_config, free_port, wait_until

API_KEY = "SK" + "5" * 32
API_SECRET = "simulated-api-key-secret-0123456789"
WRONG_SECRET = "not-the-secret-of-this-api-key-0123456"


def video_config() -> SimulatorConfig:
    config = default_config()
    return replace(config, accounts=[replace(config.accounts[0], api_keys={API_KEY: API_SECRET})])


@pytest.fixture
def served(database_url: str, simulator: SimulatorClient) -> Iterator[tuple[str, Settings]]:
    """The app on a port, its Twilio pointed at the simulator (which knows the office's API key)."""
    simulator.reset(video_config())
    late = LateApp()
    server = ThreadedServer(late)  # the port is chosen now; the server starts below, once the app exists
    settings = Settings(
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        public_url=server.url,
        embedded_worker=False,
        twilio_account_sid=DEFAULT_ACCOUNT_SID,
        twilio_auth_token=DEFAULT_AUTH_TOKEN,
        twilio_phone_number="+15005550006",
        twilio_api_key=API_KEY,
        twilio_api_secret=API_SECRET,
        twilio_api_base_url=simulator.base_url,
    )
    late.app = create_app(settings)
    with server:
        yield server.url, settings


@pytest.fixture
def visit(session: Session) -> tuple[Appointment, str]:
    """A telehealth appointment starting in five minutes, and a staff user's bearer token."""
    office = make_office(session)
    clinic = make_clinic(session, office)
    provider = make_provider(session, office, clinic)
    patient = make_patient(session, office, date_of_birth=date(1975, 6, 1))
    start = datetime.now(UTC) + timedelta(minutes=5)
    appointment = make_appointment(session, clinic, patient, provider, starts_at=start, kind=AppointmentKind.TELEHEALTH)
    token = make_token(session, make_user(session, office))
    session.commit()
    return appointment, token


def events(factory: sessionmaker[Session], count: int) -> list[VideoEvent]:
    def probe() -> list[VideoEvent] | None:
        with factory() as db:
            found = list(db.scalars(select(VideoEvent).order_by(VideoEvent.id)))
        return found if len(found) >= count else None

    return list(wait_until(probe))


def patient_token(base: str, link: str) -> dict[str, Any]:
    """The patient's way in: the link, the date of birth, then the join page's token request."""
    with httpx.Client(base_url=base, follow_redirects=True) as browser:
        page = browser.get(link).text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        browser.post(f"{link}/verify", data={"dob": "1975-06-01", "csrf": csrf})
        answer = browser.post(f"{link}/video/token", headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_it_records_a_visits_room_lifecycle(
    served: tuple[str, Settings],
    simulator: SimulatorClient,
    visit: tuple[Appointment, str],
    session_factory: sessionmaker[Session],
) -> None:
    base, settings = served
    appointment, staff_token = visit
    started = httpx.post(
        f"{base}/api/appointments/{appointment.id}/video", headers={"Authorization": f"Bearer {staff_token}"}
    )
    assert started.status_code == 200, started.text
    provider = started.json()
    assert provider["identity"] == f"provider-{appointment.provider_id}"
    assert re.fullmatch(rf"appt-{appointment.id}-[0-9a-f]{{8}}", provider["room"])
    assert provider["ws_server"] == simulator.base_url.replace("http://", "ws://") + "/video/signaling"
    assert events(session_factory, 1)[0].event == "room-created"

    with session_factory() as db:
        link = make_patient_link(db, settings, db.get(Appointment, appointment.id))  # type: ignore[arg-type]
        db.commit()
    patient = patient_token(base, link.removeprefix(base))
    assert (patient["room"], patient["identity"]) == (provider["room"], f"patient-{appointment.patient_id}")

    joined = [
        simulator.api("POST", "video/join", {"token": g["token"]})["participant_sid"] for g in (provider, patient)
    ]
    for sid in joined:
        simulator.api("POST", "video/leave", {"participant_sid": sid})
    room_sid = provider["room_sid"]
    TwilioGateway(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, base_url=simulator.base_url)._client.video.v1.rooms(
        room_sid
    ).update(status="completed")

    # Callbacks travel concurrently, as Twilio's do: they may arrive in any order; SequenceNumber orders them.
    recorded = sorted(events(session_factory, 6), key=lambda e: e.sequence_number or 0)
    assert [(e.event, e.participant_identity) for e in recorded] == [
        ("room-created", None),
        ("participant-connected", provider["identity"]),
        ("participant-connected", patient["identity"]),
        ("participant-disconnected", provider["identity"]),
        ("participant-disconnected", patient["identity"]),
        ("room-ended", None),
    ]
    assert [e.sequence_number for e in recorded] == list(range(6))
    assert all(e.room_sid == room_sid for e in recorded)
    assert "ParticipantDuration" in recorded[3].params
    with session_factory() as db:
        [row] = db.scalars(select(VideoVisit)).all()
        assert (row.status, row.room_sid, row.appointment_id) == (VideoRoomStatus.COMPLETED, room_sid, appointment.id)
        assert row.provider_joined_at and row.patient_joined_at and row.ended_at


def test_it_gives_the_same_room_to_provider_and_patient(
    served: tuple[str, Settings], simulator: SimulatorClient, visit: tuple[Appointment, str], session: Session
) -> None:
    _base, settings = served
    appointment, _token = visit
    office = session.get(Office, appointment.office_id)
    assert office is not None
    first, _, _ = rooms.patient_join(session, settings, office, appointment)
    second, _, _ = rooms.provider_join(session, settings, office, appointment, user_id=1)
    assert first.id == second.id
    assert [r["unique_name"] for r in simulator.api("GET", "video/rooms")] == [first.unique_name]


def test_it_keeps_the_patient_out_until_shortly_before(
    served: tuple[str, Settings], visit: tuple[Appointment, str], session: Session
) -> None:
    _base, settings = served
    appointment, _token = visit
    appointment.starts_at = datetime.now(UTC) + timedelta(hours=2)
    session.commit()
    office = session.get(Office, appointment.office_id)
    with pytest.raises(rooms.VideoUnavailable) as refused:
        rooms.patient_join(session, settings, office, appointment)  # type: ignore[arg-type]
    assert refused.value.refusal is rooms.Refusal.TOO_EARLY
    assert session.scalars(select(VideoVisit)).all() == []  # no room was opened for nothing


def test_it_refuses_a_token_signed_with_a_wrong_secret(
    served: tuple[str, Settings], simulator: SimulatorClient, visit: tuple[Appointment, str], session: Session
) -> None:
    _base, settings = served
    appointment, _token = visit
    office = session.get(Office, appointment.office_id)
    assert office is not None
    room = rooms.ensure_room(session, settings, office, appointment, "test")
    config = twilio_config(settings, office)
    until = datetime.now(UTC) + timedelta(hours=1)
    good = video_token(config, identity="patient-1", room=room.unique_name, valid_until=until)
    wrong = video_token(
        replace(config, api_secret=WRONG_SECRET), identity="patient-1", room=room.unique_name, valid_until=until
    )
    other_key = video_token(
        replace(config, api_key="SK" + "9" * 32), identity="patient-1", room=room.unique_name, valid_until=until
    )
    expired = AccessToken(DEFAULT_ACCOUNT_SID, API_KEY, API_SECRET, identity="patient-1", ttl=-60)
    expired.add_grant(VideoGrant(room=room.unique_name))
    for token, code in ((wrong.token, 20107), (other_key.token, 20103), (expired.to_jwt(), 20104)):
        answer = simulator.http.post(f"{simulator.base_url}/api/video/join", json={"token": token})
        assert (answer.status_code, answer.json()["code"]) == (401, code)
    elsewhere = video_token(config, identity="patient-1", room="another-room", valid_until=until)
    assert (
        simulator.http.post(f"{simulator.base_url}/api/video/join", json={"token": elsewhere.token}).status_code == 404
    )
    assert simulator.api("POST", "video/join", {"token": good.token})["room"]["unique_name"] == room.unique_name


def _signal(url: str, token: str, room: str) -> list[dict[str, Any]]:
    """What the SDK does: hello carrying an ICE request, then connect; returns the server's messages."""
    received: list[dict[str, Any]] = []
    with ws_connect(url, open_timeout=5) as ws:
        ws.send(
            json.dumps(
                {
                    "type": "hello",
                    "id": "1",
                    "timeout": 5000,
                    "version": 2,
                    "body": {"type": "ice", "token": token, "edge": "roaming", "version": 1},
                }
            )
        )
        while len(received) < 2:
            message = json.loads(ws.recv(timeout=5))
            if message["type"] != "heartbeat":
                received.append(message)
        if received[-1]["body"]["type"] == "iced":
            ws.send(
                json.dumps(
                    {
                        "type": "msg",
                        "body": {
                            "type": "connect",
                            "token": token,
                            "name": room,
                            "participant": {"tracks": []},
                            "version": 2,
                        },
                    }
                )
            )
            while len(received) < 3:
                message = json.loads(ws.recv(timeout=5))
                if message["type"] != "heartbeat":
                    received.append(message)
        with contextlib.suppress(ConnectionClosed):  # after an error the server has already closed
            ws.send(json.dumps({"type": "bye"}))
    return received


def test_it_speaks_the_sdks_signalling(
    served: tuple[str, Settings], simulator: SimulatorClient, visit: tuple[Appointment, str], session: Session
) -> None:
    _base, settings = served
    appointment, _token = visit
    office = session.get(Office, appointment.office_id)
    assert office is not None
    _visit, grant, ws_server = rooms.patient_join(session, settings, office, appointment)
    assert ws_server is not None
    welcome, iced, connected = _signal(ws_server, grant.token, grant.room)
    assert (welcome["type"], welcome["negotiatedTimeout"]) == ("welcome", 5000)
    assert iced["body"]["type"] == "iced"
    body = connected["body"]
    assert (body["type"], body["name"], body["participant"]["identity"]) == ("connected", grant.room, grant.identity)
    config = twilio_config(settings, office)
    wrong = video_token(
        replace(config, api_secret=WRONG_SECRET),
        identity="patient-1",
        room=grant.room,
        valid_until=datetime.now(UTC) + timedelta(hours=1),
    )
    _welcome, refused = _signal(ws_server, wrong.token, grant.room)
    assert refused["body"] == {"type": "error", "code": 20107, "message": "Invalid Access Token signature"}


def test_it_refuses_unsigned_video_callbacks(settings_app: TestClient, session: Session) -> None:
    params = {"AccountSid": DEFAULT_ACCOUNT_SID, "RoomSid": "RM" + "1" * 32, "StatusCallbackEvent": "room-ended"}
    assert settings_app.post("/twilio/video-status", data=params).status_code == 403
    forged = {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}
    assert settings_app.post("/twilio/video-status", data=params, headers=forged).status_code == 403
    assert session.scalars(select(VideoEvent)).all() == []


@pytest.fixture
def settings_app(database_url: str, session: Session) -> Iterator[TestClient]:
    make_office(session)
    session.commit()
    settings = Settings(
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        public_url="https://clinic.example.com",
        embedded_worker=False,
        twilio_account_sid=DEFAULT_ACCOUNT_SID,
        twilio_auth_token=DEFAULT_AUTH_TOKEN,
    )
    with TestClient(create_app(settings)) as client:
        yield client


# --- conformance: the room as our code asks for it, checked by Prism against Twilio's Video spec ------------------


@pytest.fixture(scope="module")
def prism_video(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from tests.fixtures.prism import PRISM, SPEC_DIR, _wait_for_prism

    if not PRISM.exists():
        pytest.fail(f"Stoplight Prism is missing at {PRISM}: run `npm install` (make test does)")
    port = free_port()
    log_path = tmp_path_factory.mktemp("prism-video") / "video.log"
    with log_path.open("wb") as log:
        command = [str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(port), str(SPEC_DIR / "twilio_video_v1.json")]
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_for_prism(f"http://127.0.0.1:{port}", log_path)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.mark.prism
def test_it_creates_rooms_as_twilios_spec_says(prism_video: str, session: Session) -> None:
    from tests.fixtures.prism import ACCOUNT_SID

    office = make_office(session)
    clinic = make_clinic(session, office)
    appointment = make_appointment(
        session,
        clinic,
        make_patient(session, office),
        starts_at=datetime.now(UTC) + timedelta(minutes=5),
        kind=AppointmentKind.TELEHEALTH,
    )
    settings = Settings(
        database_url="sqlite://",
        secret_key=TEST_SECRET_KEY,
        public_url="https://clinic.example.com",
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token="any-token",
        twilio_api_key=API_KEY,
        twilio_api_secret=API_SECRET,
        twilio_api_base_url=prism_video,
    )
    visit = rooms.ensure_room(session, settings, office, appointment, "test")  # a 4xx from Prism would raise
    assert visit.status == VideoRoomStatus.IN_PROGRESS
    assert visit.room_sid is not None and visit.room_sid.startswith("RM")


def test_it_joins_a_room_that_already_exists(
    served: tuple[str, Settings], simulator: SimulatorClient, visit: tuple[Appointment, str], session: Session
) -> None:
    """Another server process created the room a moment earlier (Twilio answers 53113): the same room is used."""
    _base, settings = served
    appointment, _token = visit
    office = session.get(Office, appointment.office_id)
    assert office is not None
    name = rooms.room_name(settings, appointment.id)
    existing = simulator.gateway().create_video_room(name, status_callback=f"{settings.public_url}/twilio/video-status")
    row, grant, _ws = rooms.patient_join(session, settings, office, appointment)
    assert (row.unique_name, row.status, row.room_sid) == (name, VideoRoomStatus.IN_PROGRESS, None)
    simulator.api("POST", "video/join", {"token": grant.token})

    def sid_learned() -> str | None:
        session.expire_all()
        return session.get(VideoVisit, row.id).room_sid  # type: ignore[union-attr]

    assert wait_until(sid_learned) == existing.sid  # from the callbacks' RoomName
