"""Broadcasts through the JSON API and the staff pages (preview with count and cost, one broadcast per token,
another office's 404, refused input), the after-hours settings on the configuration page, and the dashboard's
counts."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_reminders.models import (
    AfterHoursSettings,
    Appointment,
    AppointmentStatus,
    AutoReply,
    Broadcast,
    BroadcastRecipient,
    Clinic,
    Direction,
    Office,
    OpeningHours,
    RecipientStatus,
)
from tests.factories import make_appointment, make_clinic, make_message, make_patient
from tests.fixtures.simulator import CLINIC_NUMBER
from tests.web.helpers import audit_trail, error_fields
from tests.web.pages import PageClient

NEW_YORK = ZoneInfo("America/New_York")


def _in_days(days: int) -> date:
    return datetime.now(NEW_YORK).date() + timedelta(days=days)


def _office_with_visits(session: Session, office: Office) -> tuple[Clinic, date]:
    """Three visits in five days (two patients who take texts, one who opted out) and one the day after."""
    office.twilio_phone_number = CLINIC_NUMBER  # a sender outside US carrier registration
    clinic = make_clinic(session, office, name="Riverside")
    day = _in_days(5)
    at = [datetime.combine(day, time(h), NEW_YORK).astimezone(UTC) for h in (9, 10, 11)]
    make_appointment(session, clinic, make_patient(session, office, "Ana"), starts_at=at[0])
    make_appointment(session, clinic, make_patient(session, office, "Bea"), starts_at=at[1])
    out = make_patient(session, office, "Otto", sms_opted_out_at=datetime.now(UTC))
    make_appointment(session, clinic, out, starts_at=at[2])
    make_appointment(session, clinic, make_patient(session, office, "Dan"), starts_at=at[0] + timedelta(days=1))
    session.commit()
    return clinic, day


def _ask(clinic: Clinic, day: date) -> dict[str, object]:
    texts = {"en": "We are closed that day; we will call you.", "es": "Cerramos ese dia; le llamaremos."}
    return {"clinic_id": clinic.id, "first_day": day.isoformat(), "last_day": day.isoformat(), "texts": texts}


def test_it_previews_a_broadcast_then_sends_it_once_however_often_it_is_posted(
    admin_client: TestClient, session: Session, office: Office
) -> None:
    clinic, day = _office_with_visits(session, office)
    preview = admin_client.post("/api/broadcasts/preview", json=_ask(clinic, day))
    assert preview.status_code == 200, preview.text
    shown = preview.json()
    counts = (shown["visits"], shown["patients"], shown["to_text"], shown["not_texted"], shown["segments"])
    assert counts == (3, 3, 2, 1, 2)
    assert shown["cost"] == "0.01660"
    assert shown["reasons"] == {"no consent to texts, or opted out": 1}
    assert shown["bodies"]["en"] == "Riverside: We are closed that day; we will call you. STOP=opt out"
    assert session.scalars(select(Broadcast)).all() == []

    body = {**_ask(clinic, day), "token": shown["token"]}
    created = admin_client.post("/api/broadcasts", json=body)
    assert created.status_code == 201, created.text
    again = admin_client.post("/api/broadcasts", json=body)
    assert (again.status_code, again.json()["id"]) == (200, created.json()["id"])
    made = created.json()
    assert (made["status"], made["visits"], made["patients"]) == ("sending", 3, 3)
    assert made["recipients"] == {"waiting": 2, "texted": 0, "skipped": 1, "failed": 0}
    session.expire_all()
    assert len(session.scalars(select(BroadcastRecipient)).all()) == 3
    listed = admin_client.get("/api/broadcasts").json()
    assert [b["id"] for b in listed["items"]] == [made["id"]]
    shown_again = admin_client.get(f"/api/broadcasts/{made['id']}").json()
    assert (shown_again["visits"], shown_again["texts"]["es"]) == (3, "Cerramos ese dia; le llamaremos.")
    assert [e.action for e in audit_trail(session, "broadcast")] == ["broadcast"]


def test_it_refuses_a_broadcast_without_english_or_of_another_office_and_hides_other_offices_broadcasts(
    admin_client: TestClient, session: Session, office: Office, other_office: Office
) -> None:
    clinic, day = _office_with_visits(session, office)
    theirs = make_clinic(session, other_office)
    session.add(
        Broadcast(
            office_id=other_office.id, token="t" * 20, clinic_id=theirs.id, first_day=day, last_day=day, created_by="x"
        )
    )
    session.commit()
    spanish_only = {**_ask(clinic, day), "texts": {"es": "Cerrado"}}
    assert "texts.en" in error_fields(admin_client.post("/api/broadcasts/preview", json=spanish_only))
    foreign = {**_ask(theirs, day)}
    assert error_fields(admin_client.post("/api/broadcasts/preview", json=foreign)) == {
        "clinic_id": f"no clinic {theirs.id}"
    }
    bad_token = {**_ask(clinic, day), "token": "short"}
    assert "token" in error_fields(admin_client.post("/api/broadcasts", json=bad_token))
    other = session.scalars(select(Broadcast)).one()
    assert admin_client.get(f"/api/broadcasts/{other.id}").status_code == 404
    assert admin_client.get("/api/broadcasts").json()["items"] == []
    assert session.scalars(select(BroadcastRecipient)).all() == []


def test_the_desk_previews_and_sends_a_broadcast_on_its_pages_and_the_schedule_flags_the_visits(
    staff_pages: PageClient, session: Session, office: Office
) -> None:
    clinic, day = _office_with_visits(session, office)
    assert "New broadcast" in staff_pages.get("/broadcasts").text
    form = {"clinic_id": clinic.id, "first_day": day.isoformat(), "last_day": day.isoformat()}
    texts = {"text_en": "We are closed that day; we will call you.", "text_es": ""}
    preview = staff_pages.post("/broadcasts/preview", {**form, **texts})
    assert preview.status_code == 200, preview.text
    assert "2 patients" in preview.text and "$0.0166" in preview.text and "Send to 2 patients" in preview.text
    token = preview.text.split('name="token" value="')[1].split('"')[0]
    sent = staff_pages.post("/broadcasts", {**form, **texts, "token": token})
    assert sent.status_code == 303
    twice = staff_pages.post("/broadcasts", {**form, **texts, "token": token})
    assert twice.headers["location"] == sent.headers["location"]
    page = staff_pages.get(sent.headers["location"])
    assert "This broadcast was already sent" in page.text
    assert "Sending: 2 waiting" in page.text and "1 not texted (call them)" in page.text
    schedule = staff_pages.get(f"/schedule?day={day.isoformat()}")
    assert schedule.text.count("to reschedule") == 3
    session.expire_all()
    assert len(session.scalars(select(Broadcast)).all()) == 1
    statuses = sorted(a.status for a in session.scalars(select(Appointment).where(Appointment.clinic_id == clinic.id)))
    assert statuses == [AppointmentStatus.RESCHEDULE_REQUESTED] * 3 + [AppointmentStatus.SCHEDULED]  # Dan's day after

    refused = staff_pages.post("/broadcasts/preview", {**form, "text_en": ""})
    assert refused.status_code == 422 and "write the message in English" in refused.text


def test_an_admin_saves_the_after_hours_settings_and_bad_hours_are_refused(
    admin_pages: PageClient, session: Session, office: Office
) -> None:
    clinic = make_clinic(session, office, name="Riverside")
    session.commit()
    assert "After-hours auto-reply" in admin_pages.get("/config").text
    week = {f"hours_{clinic.id}_{day}": "9:00-17:00" for day in range(5)}
    form = {"enabled": "on", "holiday_country": "us", "holiday_subdivision": "ny", "closed_dates": "2030-12-24"}
    saved = admin_pages.post("/config/after-hours", {**form, **week, "text_es": "Cerrado."})
    assert saved.status_code == 303
    session.expire_all()
    row = session.get(AfterHoursSettings, office.id)
    assert row is not None
    assert (row.enabled, row.holiday_country, row.holiday_subdivision) == (True, "US", "NY")
    assert (row.closed_dates, row.texts) == (["2030-12-24"], {"es": "Cerrado."})
    hours = session.scalars(select(OpeningHours).order_by(OpeningHours.weekday)).all()
    assert [(h.weekday, h.opens, h.closes) for h in hours] == [(d, time(9), time(17)) for d in range(5)]
    assert 'value="09:00-17:00"' in admin_pages.get("/config").text

    for bad in ({f"hours_{clinic.id}_0": "17:00-9:00"}, {"holiday_country": "XX"}, {"closed_dates": "24/12"}):
        admin_pages.post("/config/after-hours", {**form, **week, **bad})
        assert "After-hours settings not saved" in admin_pages.get("/config").text
    session.expire_all()
    assert len(session.scalars(select(OpeningHours)).all()) == 5  # nothing of a refused form was kept


def test_the_dashboard_counts_broadcasts_and_auto_replies(
    admin_pages: PageClient, session: Session, office: Office
) -> None:
    clinic = make_clinic(session, office)
    patient = make_patient(session, office)
    now = datetime.now(UTC)
    broadcast = Broadcast(
        office_id=office.id,
        token="b" * 20,
        clinic_id=clinic.id,
        first_day=now.date(),
        last_day=now.date(),
        created_by="x",
        status="sent",
        sent_at=now,
    )
    session.add(broadcast)
    session.flush()
    session.add(
        BroadcastRecipient(
            office_id=office.id, broadcast_id=broadcast.id, patient_id=patient.id, status=RecipientStatus.TEXTED
        )
    )
    inbound = make_message(session, office, patient=patient, direction=Direction.INBOUND)
    session.add(AutoReply(office_id=office.id, inbound_id=inbound.id, number="+1", outcome="replied", created_at=now))
    session.commit()
    page = admin_pages.get("/dashboard").text
    assert 'id="kpi-broadcasts"><span class="value">1</span>' in page
    assert "(1 patients texted)" in page
    assert 'id="kpi-auto-replies"><span class="value">1</span>' in page
