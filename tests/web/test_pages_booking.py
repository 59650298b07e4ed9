"""Booking from the staff pages: "New appointment" (patient found by name or phone, or added on the spot), the
warnings before saving with "Save anyway", and "Move"; every save goes through booking, reminders re-planned."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_reminders import planning
from clinic_reminders.models import (
    Appointment,
    AuditEntry,
    Clinic,
    ConsentEvent,
    Office,
    Patient,
    Provider,
    Reminder,
    StaffUser,
)
from tests.factories import make_appointment, make_clinic, make_patient, make_provider
from tests.web.pages import PageClient

CHICAGO = ZoneInfo("America/Chicago")


@pytest.fixture
def desk(session: Session, office: Office) -> tuple[Clinic, Clinic, Provider, Patient]:
    """Two clinics, the first in Denver (the office's first), the one booked in Chicago; the default rules."""
    planning.ensure_default_rules(session, office)
    denver = make_clinic(session, office, name="Riverside", timezone="America/Denver", phone="+13035550100")
    chicago = make_clinic(session, office, name="Lakeside", timezone="America/Chicago", phone="+13125550100")
    provider = make_provider(session, office, chicago, name="Maria Chen")
    patient = make_patient(session, office, "Ana", "López", phone="+13125550142")
    session.commit()
    return denver, chicago, provider, patient


def in_days(days: int) -> date:
    return (datetime.now(CHICAGO) + timedelta(days=days)).date()


def visit_form(clinic: Clinic, provider: Provider | None, day: date, at: str = "16:00", **extra: str) -> dict[str, str]:
    return {
        "clinic_id": str(clinic.id),
        "provider_id": str(provider.id) if provider else "",
        "kind": "in-person",
        "day": day.isoformat(),
        "time": at,
        "duration_minutes": "30",
        "reason": "",
        **extra,
    }


def only(session: Session) -> Appointment:
    session.expire_all()
    return session.scalars(select(Appointment)).one()


def test_it_finds_the_patient_by_name_or_phone_and_books_on_the_clinics_clock(
    staff_pages: PageClient, session: Session, desk: tuple[Clinic, Clinic, Provider, Patient], staff_user: StaffUser
) -> None:
    _, chicago, provider, patient = desk
    form = staff_pages.get(f"/appointments/new?clinic_id={chicago.id}").text
    assert "Find the patient (name or phone)" in form and "Lakeside (C" in form  # the clinic with its zone
    found = staff_pages.post(
        "/appointments/new", {"step": "find", "q": "lopez", **visit_form(chicago, provider, in_days(3))}
    )
    assert found.status_code == 200
    assert 'id="chosen-patient"' in found.text and "Ana López" in found.text  # the one match is chosen
    again = staff_pages.post(
        "/appointments/new", {"step": "change-patient", "q": "lopez", "patient_id": str(patient.id)}
    )
    assert f'id="f-patient-{patient.id}" name="patient_id" value="{patient.id}">' in again.text  # offered, not chosen
    by_phone = staff_pages.post(
        "/appointments/new", {"step": "find", "q": "312-555-0142", **visit_form(chicago, None, in_days(3))}
    )
    assert 'id="chosen-patient"' in by_phone.text
    day = in_days(3)
    response = staff_pages.post(
        "/appointments/new", {"patient_id": str(patient.id), **visit_form(chicago, provider, day)}
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/schedule?day={day.isoformat()}"
    appointment = only(session)
    assert appointment.starts_at.astimezone(CHICAGO).replace(tzinfo=None) == datetime.combine(day, time(16))
    assert (appointment.patient_id, appointment.provider_id, appointment.status) == (
        patient.id,
        provider.id,
        "scheduled",
    )
    reminders = session.scalars(select(Reminder).where(Reminder.appointment_id == appointment.id)).all()
    assert sorted(r.status for r in reminders) == ["planned"] * 3  # planned in the same transaction
    audit = session.scalars(select(AuditEntry).where(AuditEntry.entity == "appointment")).one()
    assert (audit.actor, audit.action) == (f"user:{staff_user.id}", "create")
    schedule = staff_pages.get(response.headers["location"]).text
    zone = datetime.combine(day, time(16), CHICAGO).tzname()
    assert f"Booked: {day:%a %b} {day.day}, 4:00 PM {zone} at Lakeside. Reminders planned: text " in schedule
    assert f"4:00 PM {zone}</time>" in schedule and "Ana López" in schedule


def test_a_new_patient_is_added_on_the_spot_with_their_consent_recorded(
    staff_pages: PageClient, session: Session, desk: tuple[Clinic, Clinic, Provider, Patient], staff_user: StaffUser
) -> None:
    _, chicago, provider, _ = desk
    staff_pages.get("/appointments/new")
    new = {
        "patient_id": "new",
        "new_first_name": "Tomás",
        "new_last_name": "Reyes",
        "new_phone": "(312) 555-0177",
        "new_language": "es",
        "new_sms_consent": "on",
        **visit_form(chicago, provider, in_days(4), "09:30"),
    }
    refused = staff_pages.post("/appointments/new", {**new, "new_phone": "55"})
    assert refused.status_code == 422 and 'id="e-new_phone"' in refused.text
    assert session.scalars(select(Patient).where(Patient.last_name == "Reyes")).first() is None
    assert staff_pages.post("/appointments/new", new).status_code == 303
    patient = session.scalars(select(Patient).where(Patient.last_name == "Reyes")).one()
    assert [p.number for p in patient.phones] == ["+13125550177"] and patient.language == "es"
    assert (patient.sms_consent, patient.voice_consent) == (True, False)
    events = session.scalars(select(ConsentEvent).where(ConsentEvent.patient_id == patient.id)).all()
    assert [(e.channel, e.action, e.source) for e in events] == [("sms", "consent", f"staff:{staff_user.id}")]
    assert only(session).patient_id == patient.id


def test_it_asks_for_the_patient_and_a_real_time(
    staff_pages: PageClient, session: Session, desk: tuple[Clinic, Clinic, Provider, Patient]
) -> None:
    _, chicago, provider, patient = desk
    staff_pages.get("/appointments/new")
    nobody = staff_pages.post("/appointments/new", visit_form(chicago, provider, in_days(2)))
    assert nobody.status_code == 422 and "find and choose the patient, or add a new one" in nobody.text
    bad_time = staff_pages.post(
        "/appointments/new", {"patient_id": str(patient.id), **visit_form(chicago, None, in_days(2), "")}
    )
    assert bad_time.status_code == 422 and "give the start time" in bad_time.text
    spring = next(d for d in (date(datetime.now(CHICAGO).year + 1, 3, n) for n in range(8, 15)) if d.weekday() == 6)
    skipped = staff_pages.post(
        "/appointments/new", {"patient_id": str(patient.id), **visit_form(chicago, None, spring, "02:30")}
    )
    assert skipped.status_code == 422 and "that time does not exist" in skipped.text
    assert session.scalars(select(Appointment)).first() is None


def test_it_warns_of_a_busy_provider_a_busy_patient_and_the_past_then_saves_anyway(
    staff_pages: PageClient, session: Session, office: Office, desk: tuple[Clinic, Clinic, Provider, Patient]
) -> None:
    _, chicago, provider, patient = desk
    other = make_patient(session, office, "Oscar", "Other")
    day = in_days(5)
    start = datetime.combine(day, time(16), CHICAGO)
    make_appointment(session, chicago, other, provider, starts_at=start + timedelta(minutes=15))
    make_appointment(session, chicago, patient, None, starts_at=start - timedelta(minutes=20), duration_minutes=30)
    session.commit()
    staff_pages.get("/appointments/new")
    form = {"patient_id": str(patient.id), **visit_form(chicago, provider, day)}
    warned = staff_pages.post("/appointments/new", form)
    assert warned.status_code == 409
    assert "Dr. Maria Chen is already booked then: " in warned.text
    assert "This patient has another visit then: " in warned.text
    assert "Oscar" not in warned.text  # the other patient is not named
    assert 'name="accept" value="patient-busy,provider-busy"' in warned.text and "Save anyway" in warned.text
    assert len(session.scalars(select(Appointment)).all()) == 2  # nothing saved
    saved = staff_pages.post("/appointments/new", {**form, "accept": "patient-busy,provider-busy"})
    assert saved.status_code == 303
    yesterday = {"patient_id": str(patient.id), **visit_form(chicago, None, in_days(-1), "10:00")}
    past = staff_pages.post("/appointments/new", yesterday)
    assert past.status_code == 409 and "is in the past." in past.text
    assert staff_pages.post("/appointments/new", {**yesterday, "accept": "past"}).status_code == 303
    assert len(session.scalars(select(Appointment)).all()) == 4


def test_the_same_booking_twice_is_named_a_duplicate(
    staff_pages: PageClient, session: Session, desk: tuple[Clinic, Clinic, Provider, Patient]
) -> None:
    _, chicago, provider, patient = desk
    form = {"patient_id": str(patient.id), **visit_form(chicago, provider, in_days(6))}
    staff_pages.get("/appointments/new")
    assert staff_pages.post("/appointments/new", form).status_code == 303
    again = staff_pages.post("/appointments/new", form)
    assert again.status_code == 409 and "This patient already has this very booking: " in again.text
    assert "already booked then" not in again.text  # one warning, not the same clash three ways


def test_moving_a_visit_re_plans_its_reminders_and_warns_before_a_clash(
    staff_pages: PageClient, session: Session, office: Office, desk: tuple[Clinic, Clinic, Provider, Patient]
) -> None:
    denver, chicago, provider, patient = desk
    day = in_days(4)
    appointment = make_appointment(
        session, chicago, patient, provider, starts_at=datetime.combine(day, time(16), CHICAGO)
    )
    make_appointment(
        session,
        chicago,
        make_patient(session, office, "Bea"),
        provider,
        starts_at=datetime.combine(day + timedelta(days=1), time(9), CHICAGO),
    )
    session.commit()
    before = {
        r.rule_id: r.due_at for r in session.scalars(select(Reminder).where(Reminder.appointment_id == appointment.id))
    }
    page = staff_pages.get(f"/appointments/{appointment.id}/edit?next=/schedule").text
    assert 'value="16:00"' in page and "Cancel the appointment" in page and "Ana López" in page
    later = day + timedelta(days=1)
    clash = staff_pages.post(
        f"/appointments/{appointment.id}/edit", visit_form(chicago, provider, later, "09:00", next="/schedule")
    )
    assert clash.status_code == 409 and "Dr. Maria Chen is already booked then" in clash.text
    session.expire_all()
    assert appointment.starts_at.astimezone(CHICAGO).date() == day  # unchanged until accepted
    moved = staff_pages.post(f"/appointments/{appointment.id}/edit", visit_form(chicago, provider, later, "11:15"))
    assert (moved.status_code, moved.headers["location"]) == (303, f"/schedule?day={later.isoformat()}")
    session.expire_all()
    assert appointment.starts_at == datetime.combine(later, time(11, 15), CHICAGO)
    after = {
        r.rule_id: r.due_at for r in session.scalars(select(Reminder).where(Reminder.appointment_id == appointment.id))
    }
    assert after.keys() == before.keys() and all(after[k] - before[k] > timedelta(hours=18) for k in before)
    assert "Saved: " in staff_pages.get(moved.headers["location"]).text
    # to another clinic and provider, and the kind of visit
    none = staff_pages.post(
        f"/appointments/{appointment.id}/edit", {**visit_form(denver, None, later, "11:15"), "kind": "telehealth"}
    )
    assert none.status_code == 303
    session.expire_all()
    assert (appointment.clinic_id, appointment.provider_id, appointment.kind) == (denver.id, None, "telehealth")
    assert appointment.starts_at == datetime.combine(later, time(11, 15), ZoneInfo("America/Denver"))


def test_a_cancelled_visit_cannot_be_moved_and_other_offices_are_not_seen(
    staff_pages: PageClient, session: Session, other_office: Office, desk: tuple[Clinic, Clinic, Provider, Patient]
) -> None:
    _, chicago, _, patient = desk
    cancelled = make_appointment(session, chicago, patient, status="cancelled")
    theirs = make_appointment(session, make_clinic(session, other_office), make_patient(session, other_office))
    session.commit()
    assert staff_pages.get(f"/appointments/{cancelled.id}/edit").status_code == 404
    assert staff_pages.get(f"/appointments/{theirs.id}/edit").status_code == 404
    staff_pages.get("/appointments/new")
    form = {"patient_id": str(theirs.patient_id), **visit_form(chicago, None, in_days(2))}
    assert staff_pages.post("/appointments/new", form).status_code == 422
    found = staff_pages.post(
        "/appointments/new", {"step": "find", "q": "lopez", **visit_form(chicago, None, in_days(2))}
    )
    assert len(re.findall(r'name="patient_id" value="\d+"', found.text)) == 1


def test_the_schedule_and_the_patient_page_lead_to_booking(
    staff_pages: PageClient, session: Session, desk: tuple[Clinic, Clinic, Provider, Patient]
) -> None:
    _, chicago, _, patient = desk
    schedule = staff_pages.get(f"/schedule?clinic_id={chicago.id}").text
    assert re.search(rf'href="/appointments/new\?day=[\d-]+&amp;clinic_id={chicago.id}">New appointment</a>', schedule)
    page = staff_pages.get(f"/patients/{patient.id}").text
    assert f'href="/appointments/new?patient_id={patient.id}&amp;next=/patients/{patient.id}">New appointment' in page
    form = staff_pages.get(f"/appointments/new?patient_id={patient.id}&next=/patients/{patient.id}").text
    assert 'id="chosen-patient"' in form and "Ana López" in form and 'href="/patients/' in form
