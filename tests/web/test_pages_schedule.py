"""The schedule page: states and reminder trails, filters, actions through booking, and live row updates."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_reminders import booking
from clinic_reminders.models import Appointment, AppointmentStatus, Office, Reminder, StaffUser, utcnow
from clinic_reminders.web.admin import schedule
from clinic_reminders.web.admin.rendering import local
from tests.factories import make_appointment, make_clinic, make_patient
from tests.web.pages import Day, PageClient, answer, day_query


def row_of(html: str, appointment: Appointment) -> str:
    match = re.search(rf'<tr id="appt-{appointment.id}".*?</tr>', html, re.S)
    assert match, f"no row for appointment {appointment.id}"
    return match.group(0)


def test_it_shows_each_appointment_with_its_state_and_reminder_trail(staff_pages: PageClient, day: Day) -> None:
    html = staff_pages.get(f"/schedule?day={day_query(day)}").text
    rows = {key: row_of(html, a) for key, a in day.appointments.items()}
    assert "state-scheduled" in rows["planned"] and "Text planned" in rows["planned"]
    assert "state-confirmed" in rows["confirmed"]
    assert "Text delivered" in rows["confirmed"] and "Answered: confirmed" in rows["confirmed"]
    assert "Text not delivered" in rows["failed"] and "30003: Unreachable destination handset" in rows["failed"]
    assert "state-cancelled" in rows["cancelled"] and "Answered: cancelled" in rows["cancelled"]
    assert "state-no-answer" in rows["silent"] and "No answer yet" in rows["silent"]
    assert "Answered: needs a person" in rows["other"]
    # the times are on the clinic's clock
    assert "9:00 AM" in rows["planned"] and "10:00 AM" in rows["confirmed"]
    # actions offered by state
    assert 'value="confirmed"' in rows["planned"] and "Send reminder now" in rows["planned"]
    assert 'value="confirmed"' not in rows["confirmed"] and 'value="cancelled"' in rows["confirmed"]
    assert "Reinstate" in rows["cancelled"]


def test_it_filters_by_clinic_status_and_patient(staff_pages: PageClient, day: Day) -> None:
    base = f"/schedule?day={day_query(day)}"
    by_clinic = staff_pages.get(f"{base}&clinic_id={day.other_clinic.id}").text
    assert "Elsewhere" in by_clinic and "Planned" not in by_clinic
    confirmed = staff_pages.get(f"{base}&status=confirmed").text
    assert "Carlos Confirmed" in confirmed and "Olivia Planned" not in confirmed
    silent = staff_pages.get(f"{base}&status=no-answer").text
    assert "Noah Silent" in silent and "Fiona Failed" not in silent and "Olivia Planned" not in silent
    search = staff_pages.get(f"{base}&q=fion").text
    assert "Fiona Failed" in search and "Noah Silent" not in search
    week = staff_pages.get(f"{base}&days=7").text
    assert week.count('class="dayrow"') == 1
    assert "No appointments match" in staff_pages.get(f"{base}&q=nobody").text


def test_confirming_goes_through_booking_and_comes_back_to_the_same_view(
    staff_pages: PageClient, day: Day, session: Session, staff_user: StaffUser
) -> None:
    appointment = day.appointments["planned"]
    back = f"/schedule?day={day_query(day)}&clinic_id={day.clinic.id}"
    response = staff_pages.post(f"/schedule/appointments/{appointment.id}", {"action": "confirmed", "next": back})
    assert (response.status_code, response.headers["location"]) == (303, back)
    session.expire_all()
    assert appointment.status == "confirmed" and appointment.status_changed_by == f"user:{staff_user.id}"
    reminder = session.scalars(select(Reminder).where(Reminder.appointment_id == appointment.id)).one()
    assert (reminder.status, reminder.reason) == ("skipped", "already confirmed")  # re-planned by booking
    page = staff_pages.get(back).text
    assert "Confirmed: the appointment of " in page and "state-confirmed" in row_of(page, appointment)


def test_cancel_no_show_and_refused_moves(staff_pages: PageClient, day: Day, session: Session, office: Office) -> None:
    url = f"/schedule/appointments/{day.appointments['silent'].id}"
    assert staff_pages.htmx(url, {"action": "cancelled"}).status_code == 200
    # a completed visit cannot be confirmed: refused with a reason, nothing changed
    past = make_appointment(session, day.clinic, make_patient(session, office), starts_at=utcnow() - timedelta(hours=3))
    booking.set_status(session, past, AppointmentStatus.COMPLETED, "test")
    session.commit()
    refused = staff_pages.htmx(f"/schedule/appointments/{past.id}", {"action": "confirmed"})
    assert refused.status_code == 409 and "cannot become confirmed" in refused.json()["detail"]
    no_show = staff_pages.htmx(f"/schedule/appointments/{past.id}", {"action": "no-show"})
    assert "state-no-show" in no_show.text
    assert staff_pages.htmx(f"/schedule/appointments/{past.id}", {"action": "bogus"}).status_code == 404
    session.expire_all()
    assert (day.appointments["silent"].status, past.status) == ("cancelled", "no-show")


def test_a_patients_answer_reaches_an_open_page_as_a_changed_row(
    staff_pages: PageClient, day: Day, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schedule, "OVERLAP", timedelta(0))  # rows are normally re-sent for a few seconds
    html = staff_pages.get(f"/schedule?day={day_query(day)}").text
    since = re.search(r'data-since="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    ids = ",".join(str(a.id) for a in day.appointments.values())
    assert staff_pages.get(f"/schedule/changes?since={since}&ids={ids}").json()["rows"].keys() <= {
        str(a.id) for a in day.appointments.values()
    }
    appointment = day.appointments["silent"]
    answer(session, appointment, "1", "confirm")
    booking.set_status(session, appointment, AppointmentStatus.CONFIRMED, "patient")
    session.commit()
    changes = staff_pages.get(f"/schedule/changes?since={since}&ids={ids}").json()
    assert "state-confirmed" in changes["rows"][str(appointment.id)]
    assert "Answered: confirmed" in changes["rows"][str(appointment.id)]
    later = staff_pages.get(f"/schedule/changes?since={changes['now']}&ids={ids}").json()
    assert later["rows"] == {}


def test_it_shows_nothing_of_another_office(
    staff_pages: PageClient, session: Session, other_office: Office, day: Day
) -> None:
    theirs = make_appointment(session, make_clinic(session, other_office), make_patient(session, other_office, "Zed"))
    session.commit()
    assert staff_pages.htmx(f"/schedule/appointments/{theirs.id}", {"action": "cancelled"}).status_code == 404
    assert staff_pages.get(f"/schedule/changes?ids={theirs.id}&since=2000-01-01T00:00:00+00:00").json()["rows"] == {}
    session.expire_all()
    assert theirs.status == "scheduled"


def test_a_text_held_for_carrier_registration_says_so_in_the_trail(
    staff_pages: PageClient, day: Day, session: Session
) -> None:
    appointment = day.appointments["planned"]
    reminder = session.scalars(select(Reminder).where(Reminder.appointment_id == appointment.id)).first()
    assert reminder is not None
    reminder.reason = "texts wait for carrier registration: campaign in review since Nov 3"
    session.commit()
    row = row_of(staff_pages.get(f"/schedule?day={day_query(day)}").text, appointment)
    assert "step-waiting" in row and "Text waiting" in row
    assert "texts wait for carrier registration: campaign in review since Nov 3" in row


def test_a_video_visit_is_started_from_its_row_once_its_window_opens(
    staff_pages: PageClient, session: Session, office: Office
) -> None:
    clinic = make_clinic(session, office, name="Lakeside", timezone="America/Chicago")
    soon = make_appointment(
        session,
        clinic,
        make_patient(session, office, "Vera", "Video"),
        starts_at=utcnow() + timedelta(minutes=10),
        kind="telehealth",
    )
    later = make_appointment(
        session,
        clinic,
        make_patient(session, office, "Lou", "Later"),
        starts_at=utcnow() + timedelta(hours=3),
        kind="telehealth",
    )
    here = make_appointment(
        session, clinic, make_patient(session, office, "Ines", "Person"), starts_at=utcnow() + timedelta(minutes=10)
    )
    session.commit()
    day = soon.starts_at.astimezone(ZoneInfo("America/Chicago")).date()
    html = staff_pages.get(f"/schedule?day={day}&days=3").text  # "later" may be tomorrow already
    assert (
        f'href="/video/visit/{soon.id}" aria-label="Start the video visit with Vera Video">Start video visit</a>'
        in row_of(html, soon)
    )
    opens = local(later.starts_at - timedelta(minutes=15), "America/Chicago", "time")
    assert "Start video visit" not in row_of(html, later) and "Video opens <time" in row_of(html, later)
    assert f">{opens}</time>" in row_of(html, later)
    assert "Video" not in row_of(html, here).replace("No-show", "")
    page = staff_pages.get(f"/video/visit/{soon.id}").text
    assert "Video visit with Vera Video" in page
    assert local(soon.starts_at, "America/Chicago") in page and "Lakeside" in page


def test_each_active_row_offers_move_and_send_reminder_now(staff_pages: PageClient, day: Day) -> None:
    html = staff_pages.get(f"/schedule?day={day_query(day)}").text
    planned = row_of(html, day.appointments["planned"])
    assert f'href="/appointments/{day.appointments["planned"].id}/edit?next=' in planned
    assert "Send reminder now" in planned and "Send reminder now" in row_of(html, day.appointments["confirmed"])
    cancelled = row_of(html, day.appointments["cancelled"])
    assert "/edit?" not in cancelled and "Send reminder now" not in cancelled
