"""GET /api/events: a staff login reads its own office's outbox, page by page after a cursor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from clinic_reminders import booking
from clinic_reminders.models import Appointment, AppointmentStatus, Office
from tests.factories import make_clinic, make_patient

STARTS = datetime(2030, 6, 14, 15, 0, tzinfo=UTC)


def _changes(session: Session, office: Office, count: int) -> list[int]:
    """`count` appointments booked and confirmed in `office` (two events each); their ids."""
    clinic = make_clinic(session, office)
    ids = []
    for n in range(count):
        appointment = Appointment(
            office_id=office.id,
            clinic=clinic,
            patient=make_patient(session, office, first_name="Ana", last_name=f"Lopez{n}"),
            starts_at=STARTS + timedelta(hours=n),
        )
        booking.create(session, appointment, "user:1")
        booking.set_status(session, appointment, AppointmentStatus.CONFIRMED, "patient:sms")
        ids.append(appointment.id)
    session.commit()
    return ids


def test_it_needs_a_login(anon_client: TestClient) -> None:
    assert anon_client.get("/api/events").status_code == 401


def test_it_pages_through_the_offices_events_after_a_cursor(
    staff_client: TestClient, session: Session, office: Office, other_office: Office
) -> None:
    _changes(session, other_office, 2)  # another office's changes, before and between this one's
    mine = _changes(session, office, 3)
    _changes(session, other_office, 1)

    seen: list[dict[str, object]] = []
    after, pages = 0, 0
    while True:
        page = staff_client.get(f"/api/events?after={after}&limit=4").json()
        seen += page["items"]
        pages += 1
        if not page["more"]:
            break
        assert page["after"] == page["items"][-1]["id"] > after
        after = page["after"]
    assert pages == 2
    assert [(e["type"], e["appointment_id"]) for e in seen] == [
        (kind, appointment_id) for appointment_id in mine for kind in ("appointment.created", "appointment.confirmed")
    ]
    ids = [e["id"] for e in seen]
    assert ids == sorted(ids)
    assert seen[1]["payload"] == {"by": "patient:sms", "previous": "scheduled"}
    assert all("Lopez" not in str(e["payload"]) for e in seen)

    last = staff_client.get(f"/api/events?after={ids[-1]}").json()
    assert last == {"items": [], "after": ids[-1], "more": False}  # read to the end: come back later


def test_the_first_page_starts_at_the_first_event(staff_client: TestClient, session: Session, office: Office) -> None:
    _changes(session, office, 1)
    page = staff_client.get("/api/events").json()
    assert [e["type"] for e in page["items"]] == ["appointment.created", "appointment.confirmed"]
    assert page["more"] is False


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("after=abc", "after"),
        ("after=-1", "after"),
        ("after=9223372036854775808", "after"),  # beyond any event id
        ("after=1.5", "after"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
    ],
)
def test_a_bad_cursor_or_limit_is_refused_naming_it(staff_client: TestClient, query: str, field: str) -> None:
    response = staff_client.get(f"/api/events?{query}")
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_it_is_described_with_every_event_type(anon_client: TestClient) -> None:
    spec = anon_client.get("/openapi.json").json()
    operation = spec["paths"]["/api/events"]["get"]
    assert "same transaction" in operation["description"]
    assert {p["name"] for p in operation["parameters"]} == {"after", "limit"}
    types = spec["components"]["schemas"]["EventType"]["enum"]
    assert {"appointment.created", "reminder.sent", "patient.answered", "message.delivered"} <= set(types)
