"""/api/appointments: booked through `booking`, aware times in, UTC and clinic-local times out, filters."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from clinic_reminders import booking, planning
from clinic_reminders.models import Appointment, AppointmentStatus, Clinic, Office, Patient, Provider, StaffUser
from tests.factories import local_time, make_appointment, make_clinic, make_patient, make_provider
from tests.web.helpers import audit_trail, count, error_fields


@dataclass
class Schedule:
    ny: Clinic
    la: Clinic
    provider: Provider
    patient: Patient


@pytest.fixture
def schedule(session: Session, office: Office) -> Schedule:
    ny = make_clinic(session, office, name="Manhattan", timezone="America/New_York")
    la = make_clinic(session, office, name="Santa Monica", timezone="America/Los_Angeles", phone="+13105550100")
    result = Schedule(ny, la, make_provider(session, office, ny), make_patient(session, office))
    session.commit()
    return result


@pytest.fixture
def replanned(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The ids of appointments that booking asked the reminder planner to re-plan (in full, or after a status
    change with `follow_status`, once whichever way it takes)."""
    calls: list[int] = []
    real, real_follow = planning.replan, planning.follow_status

    def follow(db: Session, appointment: Appointment, previous: str) -> None:
        before = len(calls)
        real_follow(db, appointment, previous)
        del calls[before:]  # a full re-plan it fell back to is the same one
        calls.append(appointment.id)

    monkeypatch.setattr(
        planning, "replan", lambda db, appointment: (calls.append(appointment.id), real(db, appointment))
    )
    monkeypatch.setattr(planning, "follow_status", follow)
    yield calls


def _at(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def _book(client: TestClient, s: Schedule, **fields: object) -> dict[str, object]:
    body = {"clinic_id": s.ny.id, "patient_id": s.patient.id, "starts_at": "2030-01-15T09:30:00-05:00", **fields}
    response = client.post("/api/appointments", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, object] = response.json()
    return result


def test_it_books_an_appointment(
    staff_client: TestClient, session: Session, schedule: Schedule, staff_user: StaffUser, replanned: list[int]
) -> None:
    body = _book(staff_client, schedule, provider_id=schedule.provider.id, duration_minutes=45, kind="telehealth")
    assert body["starts_at"] == "2030-01-15T14:30:00Z"
    assert body["ends_at"] == "2030-01-15T15:15:00Z"
    assert body["starts_at_local"] == "2030-01-15T09:30:00-05:00"
    assert body["timezone"] == "America/New_York"
    assert (body["status"], body["status_changed_by"], body["kind"]) == (
        "scheduled",
        f"user:{staff_user.id}",
        "telehealth",
    )
    assert staff_client.get(f"/api/appointments/{body['id']}").json() == body
    assert replanned == [body["id"]]
    assert [(e.action, e.actor) for e in audit_trail(session, "appointment")] == [("create", f"user:{staff_user.id}")]


def test_it_takes_an_end_instead_of_a_duration(admin_client: TestClient, schedule: Schedule) -> None:
    body = _book(admin_client, schedule, ends_at="2030-01-15T14:50:00Z")
    assert body["duration_minutes"] == 20


def test_it_rejects_a_naive_datetime(admin_client: TestClient, session: Session, schedule: Schedule) -> None:
    body = {"clinic_id": schedule.ny.id, "patient_id": schedule.patient.id, "starts_at": "2030-01-15T09:30:00"}
    message = error_fields(admin_client.post("/api/appointments", json=body))["starts_at"]
    assert "add a UTC offset" in message
    assert count(session, Appointment) == 0


@pytest.mark.parametrize("ends_at", ["2030-01-15T09:00:00-05:00", "2030-01-15T14:30:00Z"])
def test_it_rejects_an_end_before_or_at_the_start(
    admin_client: TestClient, session: Session, schedule: Schedule, ends_at: str
) -> None:
    body = {
        "clinic_id": schedule.ny.id,
        "patient_id": schedule.patient.id,
        "starts_at": "2030-01-15T09:30:00-05:00",
        "ends_at": ends_at,
    }
    assert error_fields(admin_client.post("/api/appointments", json=body)) == {
        "ends_at": "Value error, must be after starts_at"
    }
    assert count(session, Appointment) == 0


def test_it_rejects_an_end_that_disagrees_with_the_duration(admin_client: TestClient, schedule: Schedule) -> None:
    body = {
        "clinic_id": schedule.ny.id,
        "patient_id": schedule.patient.id,
        "starts_at": "2030-01-15T09:30:00-05:00",
        "ends_at": "2030-01-15T10:00:00-05:00",
        "duration_minutes": 45,
    }
    assert "ends_at" in error_fields(admin_client.post("/api/appointments", json=body))


def test_it_rejects_a_clinic_that_does_not_exist(
    admin_client: TestClient, session: Session, schedule: Schedule
) -> None:
    body = {"clinic_id": 99, "patient_id": schedule.patient.id, "starts_at": "2030-01-15T09:30:00Z"}
    response = admin_client.post("/api/appointments", json=body)
    assert error_fields(response) == {"clinic_id": "no clinic 99"}
    assert response.json()["detail"] == "clinic_id: no clinic 99"
    assert count(session, Appointment) == 0


def test_it_rejects_rows_of_another_office(
    admin_client: TestClient, session: Session, schedule: Schedule, other_office: Office
) -> None:
    their_patient = make_patient(session, other_office)
    their_provider = make_provider(session, other_office)
    session.commit()
    body = {"clinic_id": schedule.ny.id, "patient_id": their_patient.id, "starts_at": "2030-01-15T09:30:00Z"}
    assert error_fields(admin_client.post("/api/appointments", json=body)) == {
        "patient_id": f"no patient {their_patient.id}"
    }
    body = {**body, "patient_id": schedule.patient.id, "provider_id": their_provider.id}
    assert "provider_id" in error_fields(admin_client.post("/api/appointments", json=body))
    assert count(session, Appointment) == 0


def test_it_refuses_a_deactivated_clinic(admin_client: TestClient, session: Session, schedule: Schedule) -> None:
    schedule.la.active = False
    session.commit()
    body = {"clinic_id": schedule.la.id, "patient_id": schedule.patient.id, "starts_at": "2030-01-15T09:30:00Z"}
    assert "deactivated" in error_fields(admin_client.post("/api/appointments", json=body))["clinic_id"]


def test_it_rejects_malformed_json(admin_client: TestClient, session: Session, schedule: Schedule) -> None:
    response = admin_client.post(
        "/api/appointments", content=b'{"clinic_id": 1, "starts_at": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert count(session, Appointment) == 0


def test_an_external_id_is_unique(admin_client: TestClient, session: Session, schedule: Schedule) -> None:
    _book(admin_client, schedule, external_id="PM-1")
    body = {"clinic_id": schedule.ny.id, "patient_id": schedule.patient.id, "starts_at": "2030-01-16T09:30:00Z"}
    assert admin_client.post("/api/appointments", json={**body, "external_id": "PM-1"}).status_code == 409
    assert count(session, Appointment) == 1


def test_a_plain_date_range_means_the_day_in_each_clinics_zone(
    admin_client: TestClient, session: Session, schedule: Schedule
) -> None:
    s = schedule
    late_ny = make_appointment(session, s.ny, s.patient, starts_at=_at("2030-01-15T23:30:00-05:00"))
    early_la = make_appointment(session, s.la, s.patient, starts_at=_at("2030-01-15T00:30:00-08:00"))
    make_appointment(session, s.la, s.patient, starts_at=_at("2030-01-14T23:30:00-08:00"))  # the 15th in UTC
    session.commit()

    def ids(**params: str) -> list[int]:
        response = admin_client.get("/api/appointments", params=params)
        assert response.status_code == 200, response.text
        return [a["id"] for a in response.json()["items"]]

    assert ids(**{"from": "2030-01-15", "to": "2030-01-15"}) == [early_la.id, late_ny.id]
    assert ids(**{"from": "2030-01-15", "to": "2030-01-15", "clinic_id": str(s.la.id)}) == [early_la.id]
    instants = ids(**{"from": "2030-01-15T00:00:00Z", "to": "2030-01-16T00:00:00+00:00"})
    assert late_ny.id not in instants and early_la.id in instants and len(instants) == 2
    assert ids(**{"from": "2030-01-16"}) == []


@pytest.mark.parametrize("bound", ["2030-01-15T08:00:00", "yesterday", "2030-13-01"])
def test_it_rejects_a_bad_range_bound(admin_client: TestClient, schedule: Schedule, bound: str) -> None:
    assert "from" in error_fields(admin_client.get("/api/appointments", params={"from": bound}))


def test_it_filters_by_status_kind_patient_and_provider(
    admin_client: TestClient, session: Session, office: Office, schedule: Schedule
) -> None:
    s = schedule
    other = make_patient(session, office, "Lee", "Kim")
    a = make_appointment(session, s.ny, s.patient, s.provider)
    b = make_appointment(session, s.ny, s.patient, kind="telehealth")
    c = make_appointment(session, s.la, other, starts_at=local_time(s.ny, days_ahead=2))  # the last, whatever the hour
    booking.set_status(session, b, AppointmentStatus.CONFIRMED, "test")
    booking.cancel(session, c, "test")
    session.commit()

    def ids(params: dict[str, str] | list[tuple[str, str]]) -> list[int]:
        return [x["id"] for x in admin_client.get("/api/appointments", params=params).json()["items"]]

    assert ids([("status", "scheduled"), ("status", "confirmed")]) == [a.id, b.id]
    assert ids({"status": "confirmed,cancelled"}) == [b.id, c.id]
    assert ids({"kind": "telehealth"}) == [b.id]
    assert ids({"patient_id": str(other.id)}) == [c.id]
    assert ids({"provider_id": str(s.provider.id)}) == [a.id]
    assert ids({"clinic_id": str(s.la.id)}) == [c.id]
    assert "status" in error_fields(admin_client.get("/api/appointments", params={"status": "done"}))


def test_it_paginates_in_start_order(admin_client: TestClient, session: Session, schedule: Schedule) -> None:
    booked = [
        make_appointment(session, schedule.ny, schedule.patient, starts_at=_at(f"2030-01-{day:02d}T15:00:00Z"))
        for day in (20, 18, 19, 17)
    ]
    session.commit()
    page = admin_client.get("/api/appointments", params={"limit": 3, "offset": 1}).json()
    assert (page["total"], page["limit"], page["offset"]) == (4, 3, 1)
    assert [a["starts_at"][:10] for a in page["items"]] == ["2030-01-18", "2030-01-19", "2030-01-20"]
    assert len(booked) == 4


def test_it_moves_an_appointment(
    admin_client: TestClient, session: Session, schedule: Schedule, replanned: list[int]
) -> None:
    appointment = make_appointment(session, schedule.ny, schedule.patient, starts_at=_at("2030-01-15T14:30:00Z"))
    session.commit()
    replanned.clear()
    response = admin_client.patch(
        f"/api/appointments/{appointment.id}",
        json={"starts_at": "2030-01-16T08:00:00-08:00", "clinic_id": schedule.la.id},
    )
    body = response.json()
    assert (body["starts_at"], body["starts_at_local"]) == ("2030-01-16T16:00:00Z", "2030-01-16T08:00:00-08:00")
    assert body["timezone"] == "America/Los_Angeles"
    assert replanned == [appointment.id]
    assert audit_trail(session, "appointment")[-1].detail == {"fields": ["clinic", "starts_at"]}


def test_a_new_end_is_measured_from_the_stored_start(
    admin_client: TestClient, session: Session, schedule: Schedule
) -> None:
    appointment = make_appointment(session, schedule.ny, schedule.patient, starts_at=_at("2030-01-15T14:30:00Z"))
    session.commit()
    url = f"/api/appointments/{appointment.id}"
    assert admin_client.patch(url, json={"ends_at": "2030-01-15T10:30:00-05:00"}).json()["duration_minutes"] == 60
    assert error_fields(admin_client.patch(url, json={"ends_at": "2030-01-15T14:00:00Z"})) == {
        "ends_at": "must be after starts_at"
    }
    session.refresh(appointment)
    assert appointment.duration_minutes == 60


def test_a_failed_move_changes_nothing(admin_client: TestClient, session: Session, schedule: Schedule) -> None:
    appointment = make_appointment(session, schedule.ny, schedule.patient, starts_at=_at("2030-01-15T14:30:00Z"))
    session.commit()
    url = f"/api/appointments/{appointment.id}"
    response = admin_client.patch(url, json={"starts_at": "2030-02-01T10:00:00Z", "clinic_id": 99})
    assert error_fields(response) == {"clinic_id": "no clinic 99"}
    assert "starts_at" in error_fields(admin_client.patch(url, json={"starts_at": "2030-02-01T10:00:00"}))
    assert "status" in error_fields(admin_client.patch(url, json={"status": "confirmed"}))
    session.refresh(appointment)
    assert (appointment.starts_at, appointment.clinic_id) == (_at("2030-01-15T14:30:00Z"), schedule.ny.id)
    assert [e.action for e in audit_trail(session, "appointment")] == ["create"]


def test_staff_confirm_and_mark_no_shows(
    staff_client: TestClient, session: Session, schedule: Schedule, staff_user: StaffUser
) -> None:
    appointment = make_appointment(session, schedule.ny, schedule.patient)
    session.commit()
    url = f"/api/appointments/{appointment.id}/status"
    body = staff_client.post(url, json={"status": "confirmed"}).json()
    assert (body["status"], body["status_changed_by"]) == ("confirmed", f"user:{staff_user.id}")
    assert staff_client.post(url, json={"status": "no-show"}).json()["status"] == "no-show"
    assert "status" in error_fields(staff_client.post(url, json={"status": "maybe"}))
    trail = audit_trail(session, "appointment")
    assert [(e.action, e.detail.get("new")) for e in trail] == [
        ("create", None),
        ("status", "confirmed"),
        ("status", "no-show"),
    ]


def test_it_cancels_and_refuses_impossible_moves(
    admin_client: TestClient, session: Session, schedule: Schedule, replanned: list[int]
) -> None:
    appointment = make_appointment(session, schedule.ny, schedule.patient)
    session.commit()
    replanned.clear()
    url = f"/api/appointments/{appointment.id}"
    assert admin_client.post(f"{url}/cancel").json()["status"] == "cancelled"
    assert admin_client.post(f"{url}/cancel").status_code == 200  # twice is harmless
    assert replanned == [appointment.id]
    response = admin_client.post(f"{url}/status", json={"status": "confirmed"})
    assert response.status_code == 409
    assert response.json()["detail"].startswith("status: ")
    session.refresh(appointment)
    assert appointment.status == "cancelled"


def test_it_hides_another_offices_appointments(
    admin_client: TestClient, session: Session, schedule: Schedule, other_office: Office
) -> None:
    theirs = make_appointment(session, make_clinic(session, other_office), make_patient(session, other_office))
    session.commit()
    url = f"/api/appointments/{theirs.id}"
    assert admin_client.get("/api/appointments").json()["total"] == 0
    assert admin_client.get(url).status_code == 404
    assert admin_client.patch(url, json={"reason": "x"}).status_code == 404
    assert admin_client.post(f"{url}/cancel").status_code == 404
    assert admin_client.post(f"{url}/status", json={"status": "confirmed"}).status_code == 404
    session.refresh(theirs)
    assert theirs.status == "scheduled"


def test_openapi_documents_the_date_range(anon_client: TestClient) -> None:
    spec = anon_client.get("/openapi.json").json()
    params = {p["name"]: p for p in spec["paths"]["/api/appointments"]["get"]["parameters"]}
    assert "clinic time zone" in params["from"]["description"]
    assert {"clinic_id", "provider_id", "patient_id", "status", "kind", "to", "limit", "offset"} <= params.keys()


def test_a_start_in_the_past_is_refused_unless_forced(
    admin_client: TestClient, session: Session, schedule: Schedule
) -> None:
    body = {"clinic_id": schedule.ny.id, "patient_id": schedule.patient.id, "starts_at": "2020-01-15T09:30:00-05:00"}
    response = admin_client.post("/api/appointments", json=body)
    assert error_fields(response) == {"starts_at": "is in the past; send force=true to book it anyway"}
    assert count(session, Appointment) == 0
    forced = admin_client.post("/api/appointments", params={"force": "true"}, json=body)
    assert forced.status_code == 201 and forced.json()["starts_at"] == "2020-01-15T14:30:00Z"


def test_the_same_booking_twice_is_refused_unless_forced(
    admin_client: TestClient, session: Session, schedule: Schedule, office: Office
) -> None:
    first = _book(admin_client, schedule, provider_id=schedule.provider.id)
    body = {
        "clinic_id": schedule.ny.id,
        "patient_id": schedule.patient.id,
        "provider_id": schedule.provider.id,
        "starts_at": "2030-01-15T14:30:00Z",  # the same instant, written in UTC
    }
    again = admin_client.post("/api/appointments", json=body)
    assert again.status_code == 409
    assert again.json()["detail"] == (
        f"starts_at: appointment {first['id']} is this very booking; send force=true to book it again"
    )
    assert count(session, Appointment) == 1
    # a provider seeing another patient then, or the same patient elsewhere, is the desk's call: accepted
    other = make_patient(session, office, "Bea", "Other")
    session.commit()
    assert admin_client.post("/api/appointments", json={**body, "patient_id": other.id}).status_code == 201
    assert admin_client.post("/api/appointments", json={**body, "clinic_id": schedule.la.id}).status_code == 201
    assert admin_client.post("/api/appointments", params={"force": True}, json=body).status_code == 201
    assert count(session, Appointment) == 4


def test_a_move_into_the_past_or_onto_the_same_booking_needs_force(
    admin_client: TestClient, session: Session, schedule: Schedule
) -> None:
    kept = make_appointment(session, schedule.ny, schedule.patient, starts_at=_at("2030-01-15T14:30:00Z"))
    moving = make_appointment(session, schedule.ny, schedule.patient, starts_at=_at("2030-01-16T14:30:00Z"))
    session.commit()
    url = f"/api/appointments/{moving.id}"
    assert "starts_at" in error_fields(admin_client.patch(url, json={"starts_at": "2020-01-16T14:30:00Z"}))
    onto = admin_client.patch(url, json={"starts_at": "2030-01-15T14:30:00Z"})
    assert onto.status_code == 409 and f"appointment {kept.id} is this very booking" in onto.json()["detail"]
    session.refresh(moving)
    assert moving.starts_at == _at("2030-01-16T14:30:00Z")
    assert (
        admin_client.patch(url, params={"force": "true"}, json={"starts_at": "2020-01-16T14:30:00Z"}).status_code == 200
    )
    # a visit already in the past can still be changed in other ways without force
    assert admin_client.patch(url, json={"reason": "follow-up"}).status_code == 200


def test_openapi_documents_force(anon_client: TestClient) -> None:
    spec = anon_client.get("/openapi.json").json()
    for method in ("post", "patch"):
        path = "/api/appointments" if method == "post" else "/api/appointments/{appointment_id}"
        params = {p["name"]: p for p in spec["paths"][path][method]["parameters"]}
        assert "in the past" in params["force"]["description"]
        assert {"409", "422"} <= spec["paths"][path][method]["responses"].keys()
