"""No-show follow-ups and recall through the staff pages and the JSON API: the office's settings and texts, the
recall intervals, a patient's due date from the PMS (each office sees only its own), and the dashboard's counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_reminders import booking
from clinic_reminders.models import (
    AppointmentStatus,
    FollowupSettings,
    FollowupStatus,
    NoshowFollowup,
    Office,
    RecallDue,
    RecallInterval,
    RecallSeries,
    RecallText,
)
from tests.factories import make_appointment, make_clinic, make_message, make_patient
from tests.web.helpers import audit_trail, error_fields
from tests.web.pages import PageClient

FORM = {
    "noshow_enabled": "on",
    "noshow_delay_minutes": "90",
    "recall_enabled": "on",
    "recall_texts": "2",
    "recall_spacing_days": "10",
    "noshow_template_en": "{clinic}: we missed you. Reply 1 for a call. STOP=opt out",
    "noshow_template_es": "",
    "recall_template_en": "",
    "recall_template_es": "",
}


def _row(session: Session, office: Office) -> FollowupSettings | None:
    session.expire_all()
    return session.get(FollowupSettings, office.id)


def test_admins_turn_follow_ups_and_recall_on_with_their_own_text_on_the_configuration_page(
    admin_pages: PageClient, staff_pages: PageClient, session: Session, office: Office
) -> None:
    page = admin_pages.get("/config").text
    assert (
        'id="followups"' in page and 'name="noshow_delay_minutes" type="number" min="0" max="10080" value="120"' in page
    )
    assert admin_pages.post("/config/followups", FORM).status_code == 303
    row = _row(session, office)
    assert row is not None
    saved = (
        row.noshow_enabled,
        row.noshow_delay_minutes,
        row.recall_enabled,
        row.recall_texts,
        row.recall_spacing_days,
    )
    assert saved == (True, 90, True, 2, 10)
    assert row.noshow_templates == {"en": FORM["noshow_template_en"]} and row.recall_templates == {}
    assert [e.action for e in audit_trail(session, "office")] == ["followup_settings"]

    admin_pages.post(
        "/config/followups", {**FORM, "noshow_template_en": "{clinic}: we missed you.", "recall_texts": "3"}
    )
    shown = admin_pages.get("/config").text
    assert "Follow-up settings not saved: noshow_templates.en: The text must say how to opt out" in shown
    row = _row(session, office)
    assert row is not None and row.recall_texts == 2  # nothing changed
    assert staff_pages.post("/config/followups", FORM).status_code == 403


def test_admins_add_and_remove_recall_intervals_on_the_configuration_page(
    admin_pages: PageClient, session: Session, office: Office
) -> None:
    interval = {"name": "Check-up", "reason_contains": "check-up", "kind": "", "months": "12"}
    admin_pages.post("/config/recall-intervals", interval)
    admin_pages.post("/config/recall-intervals", interval)  # the same name again
    page = admin_pages.get("/config").text
    assert "<td>Check-up</td><td>check-up</td><td>either</td><td>12 months</td>" in page
    assert "Recall interval not added: name: an interval of this name exists already." in page
    (saved,) = session.scalars(select(RecallInterval)).all()
    admin_pages.post(f"/config/recall-intervals/{saved.id}/delete", {})
    session.expire_all()
    assert session.scalars(select(RecallInterval)).all() == []


def test_the_api_reads_and_changes_the_settings_for_admins_only(
    admin_client: TestClient, staff_client: TestClient, session: Session, office: Office
) -> None:
    defaults = admin_client.get("/api/followups/settings").json()
    assert (defaults["noshow_enabled"], defaults["noshow_delay_minutes"], defaults["recall_texts"]) == (False, 120, 3)
    change = {
        "noshow_enabled": True,
        "noshow_delay_minutes": 60,
        "recall_templates": {"es": "{clinic}: le toca. STOP=baja"},
    }
    assert staff_client.put("/api/followups/settings", json=change).status_code == 403
    changed = admin_client.put("/api/followups/settings", json=change)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["noshow_delay_minutes"], changed.json()["recall_templates"]) == (
        60,
        change["recall_templates"],
    )
    bad = error_fields(admin_client.put("/api/followups/settings", json={"recall_templates": {"fr": "x STOP"}}))
    assert bad == {"recall_templates": "no such language: fr (use en, es)"}
    assert "noshow_delay_minutes" in error_fields(
        admin_client.put("/api/followups/settings", json={"noshow_delay_minutes": -1})
    )
    row = _row(session, office)
    assert row is not None and row.noshow_delay_minutes == 60


def test_the_api_keeps_intervals_and_due_dates_to_the_office(
    admin_client: TestClient, session: Session, office: Office, other_office: Office
) -> None:
    mine = make_patient(session, office)
    theirs = make_patient(session, other_office)
    foreign = RecallInterval(office_id=other_office.id, name="Cleaning", months=6, matches="")
    session.add(foreign)
    session.commit()
    made = admin_client.post(
        "/api/followups/recall-intervals", json={"name": "Check-up", "months": 12, "matches": "check"}
    )
    assert made.status_code == 201, made.text
    assert [i["name"] for i in admin_client.get("/api/followups/recall-intervals").json()] == ["Check-up"]
    assert admin_client.delete(f"/api/followups/recall-intervals/{foreign.id}").status_code == 404
    assert admin_client.delete(f"/api/followups/recall-intervals/{made.json()['id']}").status_code == 204
    assert admin_client.put(f"/api/followups/recall-due/{theirs.id}", json={"due_on": "2031-01-15"}).status_code == 404
    assert admin_client.put(f"/api/followups/recall-due/{mine.id}", json={"due_on": "2031-01-15"}).status_code == 204
    session.expire_all()
    assert [(d.patient_id, d.due_on.isoformat()) for d in session.scalars(select(RecallDue))] == [
        (mine.id, "2031-01-15")
    ]
    assert admin_client.put(f"/api/followups/recall-due/{mine.id}", json={"due_on": None}).status_code == 204
    session.expire_all()
    assert session.scalars(select(RecallDue)).all() == []


def test_the_dashboard_counts_no_shows_rebooked_recall_texts_and_recalls_booked(
    admin_pages: PageClient, session: Session, office: Office
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    clinic = make_clinic(session, office, name="Riverside")
    missed_once = make_patient(session, office, "Came", "Back")
    never_back = make_patient(session, office, "Stayed", "Away")
    for patient in (missed_once, never_back):
        missed = make_appointment(session, clinic, patient, starts_at=now - timedelta(hours=3))
        booking.set_status(session, missed, AppointmentStatus.NO_SHOW, "test")
        text = make_message(session, office, patient)
        session.add(
            NoshowFollowup(
                office_id=office.id,
                event_id=missed.id,
                appointment_id=missed.id,
                patient_id=patient.id,
                marked_at=now - timedelta(hours=2),
                due_at=now - timedelta(hours=1),
                status=FollowupStatus.SENT,
                message_id=text.id,
                sent_at=now - timedelta(hours=1),
            )
        )
    recalled = make_patient(session, office, "Due", "Now")
    series = RecallSeries(
        office_id=office.id,
        patient_id=recalled.id,
        key="import:2030-01-01",
        source="import",
        due_on=now.date(),
        status="active",
        texts_sent=1,
        next_at=now,
    )
    session.add(series)
    session.flush()
    session.add(
        RecallText(
            office_id=office.id,
            series_id=series.id,
            number=1,
            message_id=make_message(session, office, recalled).id,
            created_at=now,
        )
    )
    session.commit()
    make_appointment(session, clinic, missed_once, starts_at=now + timedelta(days=3))
    make_appointment(session, clinic, recalled, starts_at=now + timedelta(days=4))
    session.commit()
    dashboard = admin_pages.get("/dashboard").text
    assert '<span class="value">2 / 1</span><span class="label">no-shows texted / rebooked' in dashboard
    assert '<span class="value">1 / 1</span><span class="label">recall texts sent / recalls booked' in dashboard
