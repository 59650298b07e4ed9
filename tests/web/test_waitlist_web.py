"""The waitlist through the JSON API and the staff pages: joining (API, patient page, one click on a reschedule
request), leaving, the settings on the configuration page, the schedule's freed slots with their offers, and the
dashboard's counts."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_reminders import booking
from clinic_reminders.models import (
    AppointmentStatus,
    EntryStatus,
    OfferStatus,
    Office,
    SlotStatus,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistSettings,
    WaitlistSlot,
)
from tests.factories import make_appointment, make_clinic, make_patient, make_provider
from tests.web.helpers import audit_trail, error_fields
from tests.web.pages import PageClient


def _entries(session: Session) -> list[WaitlistEntry]:
    session.expire_all()
    return list(session.scalars(select(WaitlistEntry).order_by(WaitlistEntry.id)))


def test_it_puts_a_patient_on_the_waitlist_through_the_api_and_takes_them_off(
    admin_client: TestClient, session: Session, office: Office
) -> None:
    clinic = make_clinic(session, office)
    chen = make_provider(session, office, clinic)
    patient = make_patient(session, office)
    session.commit()
    wish = {
        "patient_id": patient.id,
        "clinic_id": clinic.id,
        "provider_id": chen.id,
        "kind": "in-person",
        "earliest_date": "2030-06-01",
        "latest_date": "2030-06-30",
        "weekdays": [0, 2],
        "day_starts": "08:00",
        "day_ends": "12:00",
    }
    created = admin_client.post("/api/waitlist", json=wish)
    assert created.status_code == 201, created.text
    body = created.json()
    shown = (body["status"], body["source"], body["weekdays"], body["day_ends"])
    assert shown == ("waiting", "api", [0, 2], "12:00:00")
    listed = admin_client.get("/api/waitlist", params={"patient_id": patient.id}).json()
    assert [e["id"] for e in listed["items"]] == [body["id"]]
    assert admin_client.delete(f"/api/waitlist/{body['id']}").json()["status"] == "removed"
    assert _entries(session)[0].status == EntryStatus.REMOVED
    assert [e.action for e in audit_trail(session, "patient")] == ["waitlist_join", "waitlist_leave"]
    # The office's waitlist reads the outbox from when it was first used.
    assert session.get(WaitlistSettings, office.id) is not None


def test_it_refuses_a_wish_that_cannot_be_met_or_is_not_the_offices(
    admin_client: TestClient, session: Session, office: Office, other_office: Office
) -> None:
    patient = make_patient(session, office)
    stranger = make_patient(session, other_office)
    clinic = make_clinic(session, office)
    theirs = make_appointment(session, clinic, make_patient(session, office, "Else"))
    session.commit()
    post = admin_client.post
    foreign = error_fields(post("/api/waitlist", json={"patient_id": stranger.id}))
    assert foreign == {"patient_id": f"no patient {stranger.id}"}
    late = {"patient_id": patient.id, "earliest_date": "2030-06-30", "latest_date": "2030-06-01"}
    assert "latest_date" in error_fields(post("/api/waitlist", json=late))
    assert "weekdays.0" in error_fields(post("/api/waitlist", json={"patient_id": patient.id, "weekdays": [7]}))
    other = {"patient_id": patient.id, "appointment_id": theirs.id}
    assert error_fields(post("/api/waitlist", json=other))["appointment_id"].endswith("is another patient's")
    assert _entries(session) == []
    assert admin_client.get("/api/waitlist/999").status_code == 404


def test_staff_put_a_patient_on_the_waitlist_from_their_page(
    staff_pages: PageClient, session: Session, office: Office
) -> None:
    clinic = make_clinic(session, office, name="Riverside")
    chen = make_provider(session, office, clinic, name="Chen")
    patient = make_patient(session, office)
    session.commit()
    page = staff_pages.get(f"/patients/{patient.id}")
    assert "Not on the waitlist." in page.text
    form = {"wl_clinic_id": clinic.id, "wl_provider_id": chen.id, "wl_weekday_1": "on", "wl_day_starts": "09:00"}
    answer = staff_pages.post(f"/patients/{patient.id}/waitlist", form)
    assert answer.status_code == 303
    page = staff_pages.get(f"/patients/{patient.id}")
    assert "On the waitlist" in page.text
    assert "Dr. Chen at Riverside, Tue, 09:00-24:00" in page.text
    entry = _entries(session)[0]
    assert (entry.source, entry.weekdays, entry.day_starts, entry.provider_id) == ("staff", [1], time(9), chen.id)
    staff_pages.post(f"/waitlist/{entry.id}/remove")
    assert _entries(session)[0].status == EntryStatus.REMOVED
    bad = staff_pages.post(f"/patients/{patient.id}/waitlist", {"wl_day_starts": "12:00", "wl_day_ends": "09:00"})
    assert bad.status_code == 303
    assert "Not on the waitlist: day_ends: must be after day_starts" in staff_pages.get(f"/patients/{patient.id}").text


def test_one_click_on_a_reschedule_request_puts_the_patient_on_the_waitlist(
    staff_pages: PageClient, session: Session, office: Office
) -> None:
    clinic = make_clinic(session, office)
    starts = datetime.now(UTC) + timedelta(days=3)
    appointment = make_appointment(session, clinic, make_patient(session, office), starts_at=starts)
    booking.set_status(session, appointment, AppointmentStatus.RESCHEDULE_REQUESTED, "patient:sms")
    session.commit()
    clinic_zone = ZoneInfo(clinic.timezone)
    day = appointment.starts_at.astimezone(clinic_zone).date()
    schedule = staff_pages.get(f"/schedule?day={day.isoformat()}")
    assert "Add to waitlist" in schedule.text
    for _ in range(2):  # twice: still one entry
        staff_pages.post(f"/schedule/appointments/{appointment.id}/waitlist", {"next": "/schedule"})
    (entry,) = _entries(session)
    assert (entry.appointment_id, entry.clinic_id, entry.status) == (appointment.id, clinic.id, "waiting")
    assert entry.earliest_date == datetime.now(clinic_zone).date()


def test_admins_set_the_waves_and_the_cut_off_on_the_configuration_page(
    admin_pages: PageClient, staff_pages: PageClient, session: Session, office: Office
) -> None:
    page = admin_pages.get("/config")
    assert 'id="waitlist"' in page.text and 'name="wave_size" type="number" min="1" max="50" value="5"' in page.text
    form = {"enabled": "on", "wave_size": "3", "wave_minutes": "15", "cutoff_hours": "4", "offer_minutes": "60"}
    assert admin_pages.post("/config/waitlist", form).status_code == 303
    session.expire_all()
    row = session.get(WaitlistSettings, office.id)
    assert row is not None
    saved = (row.wave_size, row.wave_minutes, row.cutoff_hours, row.offer_minutes, row.join_on_reschedule)
    assert saved == (3, 15, 4, 60, False)
    admin_pages.post("/config/waitlist", {**form, "wave_size": "500"})
    assert "Waitlist settings not saved: wave_size: must be from 1 to 50." in admin_pages.get("/config").text
    assert staff_pages.post("/config/waitlist", form).status_code == 403


def test_the_schedule_shows_a_freed_slot_with_its_offers_and_the_dashboard_counts_them(
    admin_pages: PageClient, session: Session, office: Office
) -> None:
    clinic = make_clinic(session, office, name="Riverside")
    chen = make_provider(session, office, clinic, name="Chen")
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    freed = make_appointment(session, clinic, make_patient(session, office, "Gone"), chen, starts_at=starts)
    booking.cancel(session, freed, "test")
    slot = WaitlistSlot(
        office_id=office.id,
        event_id=1,
        appointment_id=freed.id,
        clinic_id=clinic.id,
        provider_id=chen.id,
        kind="in-person",
        starts_at=starts,
        duration_minutes=30,
        status=SlotStatus.FILLED,
        closes_at=starts - timedelta(hours=2),
        waves=1,
    )
    session.add(slot)
    session.flush()
    for name, status in (("Winnie", OfferStatus.ACCEPTED), ("Lou", OfferStatus.TOO_LATE)):
        patient = make_patient(session, office, name, "Waits")
        entry = WaitlistEntry(office_id=office.id, patient_id=patient.id)
        session.add(entry)
        session.flush()
        session.add(
            WaitlistOffer(
                office_id=office.id,
                slot_id=slot.id,
                entry_id=entry.id,
                patient_id=patient.id,
                wave=1,
                status=status,
                expires_at=slot.closes_at,
            )
        )
    session.commit()
    day = starts.astimezone(ZoneInfo(clinic.timezone)).date()
    page = admin_pages.get(f"/schedule?day={day.isoformat()}").text
    assert "Freed slots and waitlist offers" in page
    assert "Filled from the waitlist" in page
    assert 'Winnie Waits</a> <span class="detail">wave 1' in page and ": took it</span>" in page
    assert "Lou Waits" in page and "said yes too late" in page
    dashboard = admin_pages.get("/dashboard").text
    assert '<span class="value">2 / 1</span><span class="label">waitlist offers sent / slots filled' in dashboard
    api = admin_pages.client.get("/api/waitlist/slots").json()
    offered = [(s["status"], [o["status"] for o in s["offers"]]) for s in api["items"]]
    assert offered == [("filled", ["accepted", "too-late"])]
