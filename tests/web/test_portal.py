"""The patient's page behind the reminder link: links (expired, tampered, revoked), the date-of-birth check and its
lockout, CSRF, answers with the same effects as SMS answers, the .ics file, and no patient data in logs."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_reminders.models import Appointment, AppointmentStatus, AuditEntry, Office, PatientLink, Reminder
from clinic_reminders.settings import Settings
from clinic_reminders.telehealth.links import DOB_LOCK, MAX_DOB_ATTEMPTS, make_patient_link
from tests.conftest import TEST_SECRET_KEY
from tests.factories import local_time, make_appointment, make_clinic, make_patient, make_provider, make_rule

PUBLIC_URL = "https://clinic.example.com:8080"
DOB = date(1980, 4, 2)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, secret_key=TEST_SECRET_KEY, public_url=PUBLIC_URL)


@pytest.fixture
def anon_client(app: FastAPI) -> Iterator[TestClient]:
    """A patient's browser on the public HTTPS URL (the portal's cookies are Secure there)."""
    with TestClient(app, base_url="https://testserver") as client:
        yield client


@pytest.fixture
def appointment(session: Session, office: Office) -> Appointment:
    clinic = make_clinic(session, office, name="Downtown Clinic", address="12 Main St, Springfield, IL 62701")
    provider = make_provider(session, office, clinic, name="Maria Chen")
    patient = make_patient(session, office, first_name="Ana", last_name="Lopez", date_of_birth=DOB)
    appointment = make_appointment(session, clinic, patient, provider, starts_at=local_time(clinic, 2, time(10, 0)))
    session.commit()
    return appointment


def link_for(session: Session, settings: Settings, appointment: Appointment) -> str:
    url = make_patient_link(session, settings, appointment)
    session.commit()
    return url.removeprefix(PUBLIC_URL)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def verify(client: TestClient, path: str, dob: str = DOB.isoformat()) -> object:
    page = client.get(path)
    return client.post(f"{path}/verify", data={"dob": dob, "csrf": csrf_of(page.text)}, follow_redirects=False)


def verified_page(client: TestClient, path: str) -> str:
    response = verify(client, path)
    assert getattr(response, "status_code", None) == 303
    page = client.get(path)
    assert page.status_code == 200
    return page.text


def test_it_makes_a_short_absolute_link(session: Session, settings: Settings, appointment: Appointment) -> None:
    first = make_patient_link(session, settings, appointment)
    again = make_patient_link(session, settings, appointment)
    assert first == again  # one live link per appointment: every reminder repeats it
    assert re.fullmatch(re.escape(PUBLIC_URL) + r"/p/[0-9A-Za-z]+[0-9A-Za-z_-]{8}", first)
    assert len(first) <= len(PUBLIC_URL) + 3 + 12


def test_it_shows_nothing_before_the_date_of_birth(
    anon_client: TestClient, session: Session, settings: Settings, appointment: Appointment
) -> None:
    page = anon_client.get(link_for(session, settings, appointment))
    assert page.status_code == 200
    assert "date of birth" in page.text
    for detail in ("Downtown Clinic", "Main St", "Chen", "Ana", "Lopez", "10:00"):
        assert detail not in page.text
    assert page.headers["cache-control"] == "no-store"


def test_it_shows_the_appointment_after_the_date_of_birth(
    anon_client: TestClient, session: Session, settings: Settings, appointment: Appointment
) -> None:
    page = verified_page(anon_client, link_for(session, settings, appointment))
    assert "Downtown Clinic" in page and "12 Main St, Springfield, IL 62701" in page
    assert "https://www.openstreetmap.org/search?query=12+Main+St%2C+Springfield%2C+IL+62701" in page
    assert "Dr. Maria Chen" in page
    day = appointment.starts_at.astimezone().strftime("%B")  # the month's name, in English
    assert day in page and "10:00 AM E" in page  # EDT or EST
    assert 'id="confirm"' in page and 'id="cancel"' in page and 'id="reschedule"' in page
    assert 'id="join"' not in page  # in person: no video


def test_it_speaks_the_patients_language(
    anon_client: TestClient, session: Session, settings: Settings, appointment: Appointment
) -> None:
    appointment.patient.language = "es"
    session.commit()
    page = verified_page(anon_client, link_for(session, settings, appointment))
    assert "Confirmar" in page and "Pedir otra hora" in page
    assert "10:00 (hora oriental)" in page
    assert re.search(r"(lunes|martes|miércoles|jueves|viernes|sábado|domingo), \d+ de", page)


def test_it_accepts_a_typed_date_of_birth(
    app: FastAPI, anon_client: TestClient, session: Session, settings: Settings, appointment: Appointment
) -> None:
    """Typed as the patient's language writes dates: month first in English, day first in Spanish."""
    path = link_for(session, settings, appointment)
    day_first = verify(anon_client, path, dob="02/04/1980")  # 4 February, read month first
    assert getattr(day_first, "status_code", None) == 400
    assert f"Attempts left: {MAX_DOB_ATTEMPTS - 1}" in getattr(day_first, "text", "")
    typed = verify(anon_client, path, dob="04/02/1980")
    assert (getattr(typed, "status_code", None), getattr(typed, "headers", {}).get("location")) == (303, path)
    assert "Downtown Clinic" in anon_client.get(path).text  # verified: the appointment is shown
    appointment.patient.language = "es"
    session.commit()
    with TestClient(app, base_url="https://testserver") as spanish:  # another browser, not yet verified
        assert getattr(verify(spanish, path, dob="02/04/1980"), "status_code", None) == 303
        assert "Downtown Clinic" in spanish.get(path).text


def test_it_refuses_a_tampered_link(
    anon_client: TestClient, session: Session, settings: Settings, appointment: Appointment
) -> None:
    path = link_for(session, settings, appointment)
    last = path[-1]
    for tampered in (path[:-1] + ("A" if last != "A" else "B"), path + "x", "/p/1", "/p/" + "A" * 12):
        page = anon_client.get(tampered)
        assert page.status_code == 404
        assert "not valid" in page.text
        assert "Downtown" not in page.text and "555" not in page.text  # not even the clinic's phone


def test_it_shows_only_the_clinic_phone_once_expired(
    anon_client: TestClient, session: Session, settings: Settings, appointment: Appointment
) -> None:
    path = link_for(session, settings, appointment)
    appointment.starts_at = datetime.now(UTC) - timedelta(hours=13)
    session.commit()
    page = anon_client.get(path)
    assert page.status_code == 410
    assert "(212) 555-0100" in page.text
    assert "Downtown" not in page.text and "Chen" not in page.text and "date of birth" not in page.text


def test_it_keeps_the_link_of_a_moved_appointment(
    anon_client: TestClient,
    staff_client: TestClient,
    session: Session,
    settings: Settings,
    office: Office,
    appointment: Appointment,
) -> None:
    """Moved by staff (through booking, which re-plans its reminders), the link the patient has shows the new
    time, and the re-planned reminder carries the same link."""
    path = link_for(session, settings, appointment)
    make_rule(session, office)  # a text the day before at 10:00: planned when the move re-plans
    session.commit()
    zone = ZoneInfo(appointment.clinic.timezone)
    new_day = appointment.starts_at.astimezone(zone).date() + timedelta(days=30)
    new_start = datetime.combine(new_day, time(15, 30), zone)
    moved = staff_client.patch(f"/api/appointments/{appointment.id}", json={"starts_at": new_start.isoformat()})
    assert moved.status_code == 200, moved.text
    page = verified_page(anon_client, path)
    assert "3:30 PM" in page and "10:00 AM" not in page and new_day.strftime("%B") in page
    session.expire_all()
    [reminder] = session.scalars(select(Reminder).where(Reminder.appointment_id == appointment.id))
    assert reminder.due_at == datetime.combine(new_day - timedelta(days=1), time(10), zone)
    assert link_for(session, settings, appointment) == path


def test_it_lets_staff_revoke_a_link(
    anon_client: TestClient, staff_client: TestClient, session: Session, settings: Settings, appointment: Appointment
) -> None:
    path = link_for(session, settings, appointment)
    verified_page(anon_client, path)
    response = staff_client.post(f"/api/appointments/{appointment.id}/link/revoke")
    assert response.json() == {"revoked": 1}
    page = anon_client.get(path)
    assert page.status_code == 410 and "(212) 555-0100" in page.text and "Downtown" not in page.text
    assert anon_client.get(f"{path}/calendar.ics").status_code == 410
    session.expire_all()
    assert link_for(session, settings, appointment) != path  # the next reminder carries a new link
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "revoke-links")).one()
    assert audit.actor.startswith("user:") and audit.entity_id == appointment.id


def test_it_hides_other_offices_links_from_staff(
    staff_client: TestClient, session: Session, other_office: Office
) -> None:
    clinic = make_clinic(session, other_office)
    foreign = make_appointment(session, clinic, make_patient(session, other_office))
    session.commit()
    assert staff_client.post(f"/api/appointments/{foreign.id}/link/revoke").status_code == 404


def test_it_locks_after_five_wrong_dates_of_birth(
    anon_client: TestClient, session: Session, settings: Settings, appointment: Appointment
) -> None:
    path = link_for(session, settings, appointment)
    csrf = csrf_of(anon_client.get(path).text)
    for attempt in range(1, MAX_DOB_ATTEMPTS):
        response = verify(anon_client, path, dob="1999-01-01")
        assert getattr(response, "status_code", None) == 400
        assert f"Attempts left: {MAX_DOB_ATTEMPTS - attempt}" in getattr(response, "text", "")
    locked = verify(anon_client, path, dob="1999-01-01")
    assert getattr(locked, "status_code", None) == 429
    assert "Too many attempts" in getattr(locked, "text", "") and "(212) 555-0100" in getattr(locked, "text", "")
    page = anon_client.get(path)
    assert page.status_code == 429 and 'name="dob"' not in page.text
    right = anon_client.post(f"{path}/verify", data={"dob": DOB.isoformat(), "csrf": csrf})
    assert right.status_code == 429  # even the right answer, while locked
    session.expire_all()
    link = session.scalars(select(PatientLink)).one()
    assert link.locked_until is not None
    assert link.locked_until - datetime.now(UTC) <= DOB_LOCK
    link.locked_until = datetime.now(UTC) - timedelta(seconds=1)  # the lock has run out
    session.commit()
    assert getattr(verify(anon_client, path), "status_code", None) == 303


def test_it_counts_attempts_per_link(
    anon_client: TestClient, session: Session, settings: Settings, appointment: Appointment
) -> None:
    path = link_for(session, settings, appointment)
    clinic = appointment.clinic
    other = make_appointment(session, clinic, appointment.patient, starts_at=local_time(clinic, 5))
    session.commit()
    for _ in range(MAX_DOB_ATTEMPTS):
        verify(anon_client, path, dob="1999-01-01")
    assert getattr(verify(anon_client, link_for(session, settings, other)), "status_code", None) == 303


def test_it_refuses_forms_without_the_csrf_token(
    anon_client: TestClient, session: Session, settings: Settings, appointment: Appointment
) -> None:
    path = link_for(session, settings, appointment)
    anon_client.get(path)
    assert anon_client.post(f"{path}/verify", data={"dob": DOB.isoformat()}).status_code == 403
    assert anon_client.post(f"{path}/verify", data={"dob": DOB.isoformat(), "csrf": "0" * 32}).status_code == 403
    page = verified_page(anon_client, path)
    csrf = csrf_of(page)
    fresh = TestClient(
        anon_client.app, base_url="https://testserver"
    )  # another browser: its own nonce, so this page's token is worthless there
    fresh.cookies.update({k: v for k, v in anon_client.cookies.items() if k == "pv"})
    assert fresh.post(f"{path}/answer", data={"answer": "cancel", "csrf": csrf}).status_code == 403
    session.expire_all()
    assert session.get(Appointment, appointment.id).status == AppointmentStatus.SCHEDULED  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("answer", "status", "message"),
    [
        ("confirm", AppointmentStatus.CONFIRMED, "your appointment is confirmed"),
        ("cancel", AppointmentStatus.CANCELLED, "Your appointment is cancelled"),
        ("reschedule", AppointmentStatus.RESCHEDULE_REQUESTED, "will call you to find a new time"),
    ],
)
def test_it_answers_like_an_sms(
    anon_client: TestClient,
    session: Session,
    settings: Settings,
    appointment: Appointment,
    answer: str,
    status: AppointmentStatus,
    message: str,
) -> None:
    path = link_for(session, settings, appointment)
    page = verified_page(anon_client, path)
    response = anon_client.post(f"{path}/answer", data={"answer": answer, "csrf": csrf_of(page)})
    assert response.status_code == 200 and message in response.text
    session.expire_all()
    changed = session.get(Appointment, appointment.id)
    assert changed is not None and changed.status == status and changed.status_changed_by == "patient:link"
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "status")).one()
    assert (entry.actor, entry.detail["new"]) == ("patient:link", status.value)


def test_it_says_when_an_answer_cannot_be_taken(
    anon_client: TestClient, session: Session, settings: Settings, appointment: Appointment
) -> None:
    path = link_for(session, settings, appointment)
    page = verified_page(anon_client, path)
    appointment.set_status(AppointmentStatus.COMPLETED, "user:1")
    session.commit()
    response = anon_client.post(f"{path}/answer", data={"answer": "confirm", "csrf": csrf_of(page)})
    assert "cannot be changed online" in response.text
    session.expire_all()
    assert session.get(Appointment, appointment.id).status == AppointmentStatus.COMPLETED  # type: ignore[union-attr]


def test_it_sends_nobody_a_calendar_before_the_date_of_birth(
    anon_client: TestClient, session: Session, settings: Settings, appointment: Appointment
) -> None:
    response = anon_client.get(f"{link_for(session, settings, appointment)}/calendar.ics")
    assert "text/calendar" not in response.headers["content-type"]
    assert "BEGIN:VCALENDAR" not in response.text


def test_it_gives_a_calendar_file(
    anon_client: TestClient, session: Session, settings: Settings, appointment: Appointment
) -> None:
    path = link_for(session, settings, appointment)
    verified_page(anon_client, path)
    response = anon_client.get(f"{path}/calendar.ics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    assert "attachment" in response.headers["content-disposition"]
    [event] = Calendar.from_ical(response.content).walk("VEVENT")
    assert event.decoded("dtstart") == appointment.starts_at
    assert event.decoded("dtend") == appointment.starts_at + timedelta(minutes=30)
    assert str(event["summary"]) == "Your appointment: Dr. Maria Chen"
    assert str(event["location"]) == "12 Main St, Springfield, IL 62701"
    assert str(event["url"]) == PUBLIC_URL + path
    assert str(event["uid"]) == f"appointment-{appointment.id}@clinic.example.com"
    assert "(212) 555-0100" in str(event["description"])


def test_it_asks_to_call_when_no_date_of_birth_is_on_file(
    anon_client: TestClient, session: Session, settings: Settings, appointment: Appointment
) -> None:
    appointment.patient.date_of_birth = None
    session.commit()
    response = verify(anon_client, link_for(session, settings, appointment))
    assert getattr(response, "status_code", None) == 403
    assert "cannot show this appointment online" in getattr(response, "text", "")


def test_it_logs_no_patient_data(
    anon_client: TestClient,
    session: Session,
    settings: Settings,
    appointment: Appointment,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = link_for(session, settings, appointment)
    caplog.set_level(logging.DEBUG)
    verify(anon_client, path, dob="1999-01-01")
    page = verified_page(anon_client, path)
    anon_client.post(f"{path}/answer", data={"answer": "confirm", "csrf": csrf_of(page)})
    # The server's log lines (httpx, the test's own client, logs its request URLs: not the server's doing).
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))
    assert "date of birth ok" in logged and "answered confirm" in logged
    for secret in ("Ana", "Lopez", "1980", "Downtown", path.removeprefix("/p/")):
        assert secret not in logged


def test_it_takes_no_answers_once_the_appointment_has_started(
    anon_client: TestClient, session: Session, settings: Settings, appointment: Appointment
) -> None:
    path = link_for(session, settings, appointment)
    page = verified_page(anon_client, path)
    appointment.starts_at = datetime.now(UTC) - timedelta(minutes=10)
    session.commit()
    assert 'id="confirm"' not in anon_client.get(path).text
    response = anon_client.post(f"{path}/answer", data={"answer": "cancel", "csrf": csrf_of(page)})
    assert "cannot be changed online" in response.text
    session.expire_all()
    assert session.get(Appointment, appointment.id).status == AppointmentStatus.SCHEDULED  # type: ignore[union-attr]
