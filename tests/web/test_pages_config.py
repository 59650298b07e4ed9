"""The configuration screen: the seed's fields, write-only secrets shown masked, templates with a live preview,
and reminder rules whose changes re-plan what is ahead."""

from __future__ import annotations

import re
import socket

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from clinic_reminders.crypto import SecretBox
from clinic_reminders.models import Office, Reminder, ReminderRule, StaffUser
from clinic_reminders.settings import Settings
from tests.conftest import TEST_SECRET_KEY
from tests.factories import make_appointment, make_clinic, make_patient
from tests.web.helpers import audit_trail
from tests.web.pages import PageClient, sign_in

SID = "AC" + "0123456789abcdef" * 2
API_KEY = "SK" + "fedcba9876543210" * 2
AUTH_TOKEN = "f00dfeedf00dfeedf00dfeedf00d1234"
API_SECRET = "s3cr3t-api-secret-value-abcd5678"
FORM = {
    "name": "Riverside Family Medicine",
    "public_host": "reminders.riverside.example",
    "http_type": "https",
    "public_port": "443",
    "twilio_phone_number": "(303) 555-0100",
    "twilio_account_sid": SID,
    "twilio_auth_token": AUTH_TOKEN,
    "twilio_api_key": API_KEY,
    "twilio_api_secret": API_SECRET,
    "quiet_hours_start": "08:30",
    "quiet_hours_end": "20:00",
    "max_reminders_per_day": "1",
    "max_reminders_per_week": "3",
    "sms_price_per_segment": "0.0079",
    "template_en": "",
    "template_es": "",
}


def save(admin_pages: PageClient, **changes: str) -> str:
    admin_pages.get("/config")
    response = admin_pages.post("/config", {**FORM, **changes})
    assert (response.status_code, response.headers.get("location")) == (303, "/config"), response.text
    return admin_pages.get("/config").text


def test_it_saves_the_seeds_fields_and_shows_where_twilio_calls(
    admin_pages: PageClient, session: Session, office: Office
) -> None:
    page = save(admin_pages)
    assert "Configuration saved." in page
    session.expire_all()
    assert (office.public_url, office.twilio_phone_number, office.twilio_account_sid) == (
        "https://reminders.riverside.example",
        "+13035550100",
        SID,
    )
    assert (str(office.quiet_hours_start), str(office.quiet_hours_end)) == ("08:30:00", "20:00:00")
    assert "https://reminders.riverside.example/app_confirm" in page
    for label in (
        "External domain or IP",
        "HTTP type",
        "Port",
        "Twilio phone number",
        "Account SID",
        "Auth Token",
        "API Key",
        "API Secret",
    ):
        assert f">{label}</label>" in page


def test_secrets_are_stored_encrypted_and_only_ever_shown_masked(
    admin_pages: PageClient, session: Session, office: Office
) -> None:
    page = save(admin_pages)
    assert AUTH_TOKEN not in page and API_SECRET not in page
    assert "••••1234" in page and "••••5678" in page
    stored = session.execute(
        text("SELECT twilio_auth_token_encrypted, twilio_api_secret_encrypted FROM offices WHERE id = :id"),
        {"id": office.id},
    ).one()
    session.rollback()
    assert AUTH_TOKEN not in stored[0] and SecretBox(TEST_SECRET_KEY).decrypt(stored[0]) == AUTH_TOKEN
    # an empty box keeps the saved secret; a refused form never sends a typed secret back
    save(admin_pages, twilio_auth_token="", twilio_api_secret="")
    session.expire_all()
    assert SecretBox(TEST_SECRET_KEY).decrypt(office.twilio_auth_token_encrypted or "") == AUTH_TOKEN
    refused = admin_pages.post("/config", {**FORM, "twilio_auth_token": "brand-new-token-9999", "public_port": "0"})
    assert refused.status_code == 422
    assert "brand-new-token-9999" not in refused.text and AUTH_TOKEN not in refused.text


def test_a_saved_secret_can_be_removed(admin_pages: PageClient, session: Session, office: Office) -> None:
    save(admin_pages)
    page = save(admin_pages, twilio_auth_token="", twilio_api_secret="", clear_twilio_api_secret="on")
    session.expire_all()
    assert office.twilio_api_secret_encrypted is None and office.twilio_auth_token_encrypted is not None
    assert "••••5678" not in page and "••••1234" in page


def test_refused_values_are_named_next_to_their_field_and_nothing_is_saved(
    admin_pages: PageClient, session: Session, office: Office
) -> None:
    admin_pages.get("/config")
    response = admin_pages.post(
        "/config",
        {
            **FORM,
            "public_host": "https://clinic.example.com/",
            "twilio_account_sid": "AC-not-a-sid",
            "twilio_phone_number": "12",
        },
    )
    assert response.status_code == 422
    assert 'id="e-public_host"' in response.text and "no scheme, port or path" in response.text
    assert 'id="e-twilio_account_sid"' in response.text and 'id="e-twilio_phone_number"' in response.text
    assert 'value="https://clinic.example.com/"' in response.text  # what was typed is kept for correcting
    backwards = admin_pages.post("/config", {**FORM, "quiet_hours_start": "21:00", "quiet_hours_end": "08:00"})
    assert backwards.status_code == 422 and "must be later than the “Not before” time" in backwards.text
    session.expire_all()
    assert office.public_host is None and office.twilio_auth_token_encrypted is None


def test_the_preview_shows_the_text_its_segments_and_cost(admin_pages: PageClient) -> None:
    admin_pages.get("/config")
    headers = {"X-CSRF-Token": admin_pages.token}
    default = admin_pages.client.post(
        "/config/preview", json={"template": "", "language": "es"}, headers=headers
    ).json()
    assert "Responda 1 confirmar" in default["body"] and "1 segment (GSM-7)" in default["summary"]
    assert default["problems"] == []
    emoji = "Hi {{ first_name }} 😀 {{ when }}. {{ options }}. STOP=opt out"
    costly = admin_pages.client.post(
        "/config/preview", json={"template": emoji, "language": "en"}, headers=headers
    ).json()
    assert "UCS-2" in costly["summary"] and "$0.0166 per text" in costly["summary"]
    assert any("segments" in p for p in costly["problems"])
    bad = admin_pages.client.post(
        "/config/preview", json={"template": "Reply CANCEL", "language": "en"}, headers=headers
    )
    assert any("CANCEL" in p for p in bad.json()["problems"])
    assert admin_pages.client.post("/config/preview", json={"template": "x"}).status_code == 403  # no token


def test_templates_are_saved_per_language_and_bad_ones_refused(
    admin_pages: PageClient, session: Session, office: Office
) -> None:
    mine = "{{ first_name }}: {{ clinic }} {{ when }}. {{ options }}. {{ clinic_phone }}. STOP=opt out"
    page = save(admin_pages, template_en=mine)
    session.expire_all()
    assert office.sms_templates == {"en": mine}
    assert "Alejandro: Riverside Family Medicine" in page  # the preview of the saved text
    admin_pages.get("/config")
    refused = admin_pages.post("/config", {**FORM, "template_en": "Hello {{ first_name }}, please come."})
    assert refused.status_code == 422 and "how to answer" in refused.text
    session.expire_all()
    assert office.sms_templates == {"en": mine}


def test_rules_are_added_and_changed_and_upcoming_appointments_replanned(
    admin_pages: PageClient, session: Session, office: Office
) -> None:
    appointment = make_appointment(session, make_clinic(session, office), make_patient(session, office))
    session.commit()
    admin_pages.get("/config")
    added = admin_pages.post(
        "/config/rules",
        {
            "name": "Text 3 hours before",
            "channel": "sms",
            "timing": "minutes",
            "minutes_before": "180",
            "condition": "always",
            "appointment_kinds": "in-person",
            "skip_if_confirmed": "on",
            "active": "on",
        },
    )
    assert added.status_code == 303, added.text
    rule = session.scalars(select(ReminderRule).where(ReminderRule.name == "Text 3 hours before")).one()
    assert (rule.minutes_before, rule.days_before, rule.appointment_kinds) == (180, None, ["in-person"])
    reminder = session.scalars(select(Reminder).where(Reminder.rule_id == rule.id)).one()
    assert reminder.appointment_id == appointment.id and reminder.status == "planned"
    admin_pages.get("/config")
    off = admin_pages.post(
        f"/config/rules/{rule.id}",
        {
            "name": "Text 3 hours before",
            "channel": "sms",
            "timing": "days",
            "days_before": "1",
            "at_local_time": "09:00",
            "condition": "always",
            "appointment_kinds": "in-person",
        },
    )
    assert off.status_code == 303
    session.expire_all()
    assert (rule.active, rule.days_before, rule.minutes_before) == (False, 1, None)
    assert session.get(Reminder, reminder.id).status == "cancelled"  # type: ignore[union-attr]
    page = admin_pages.get("/config").text
    assert "Text 1 day(s) before at 09:00 (clinic time) · turned off" in page


def test_a_refused_rule_is_shown_again_with_its_errors(admin_pages: PageClient, session: Session) -> None:
    admin_pages.get("/config")
    response = admin_pages.post(
        "/config/rules",
        {"name": "", "channel": "sms", "timing": "days", "days_before": "", "condition": "always", "active": "on"},
    )
    assert response.status_code == 422
    assert "Please correct" in response.text
    assert session.scalars(select(ReminderRule).where(ReminderRule.name == "")).first() is None


def test_environment_settings_that_win_are_pointed_out(
    database_url: str, session: Session, admin_user: StaffUser
) -> None:
    from clinic_reminders.settings import Settings
    from clinic_reminders.web.app import create_app

    settings = Settings(
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        twilio_account_sid=SID,
        public_url="https://env.example.com",
    )
    app = create_app(settings, session.get_bind())  # type: ignore[arg-type]
    client = TestClient(app, base_url="https://testserver")  # an https public URL makes the cookie Secure
    page = sign_in(client, admin_user.email).get("/config").text
    assert "from <code>TWILIO_ACCOUNT_SID</code> in the server's environment" in page
    assert "<code>REMINDERS_PUBLIC_URL</code>" in page and "https://env.example.com/app_confirm" in page


SMTP_URL = "smtp://alerts:mail-pass-0123@smtp.riverside.example:587?starttls=1&from=alerts@riverside.example"


def test_the_alerts_fieldset_saves_who_gets_alerts_and_says_where_they_go(
    admin_pages: PageClient, session: Session, office: Office
) -> None:
    page = save(
        admin_pages,
        alert_email="manager@riverside.example, it@riverside.example",
        alert_sms="(303) 555-0199",
        smtp_url=SMTP_URL,
    )
    for label in ("Alert email addresses", "Alert SMS number", "SMTP URL"):
        assert f">{label}</label>" in page
    assert "<legend>Alerts</legend>" in page and "Up to 5, separated by commas" in page
    assert (
        "Alerts now go to: <strong>email to manager@riverside.example, it@riverside.example through "
        "smtp.riverside.example:587; SMS to +13035550199</strong>" in page
    )
    assert "••••@smtp.riverside.example:587" in page and "mail-pass-0123" not in page
    session.expire_all()
    assert (office.alert_email, office.alert_sms) == ("manager@riverside.example, it@riverside.example", "+13035550199")
    assert SecretBox(TEST_SECRET_KEY).decrypt(office.smtp_url_encrypted or "") == SMTP_URL
    save(admin_pages, alert_email="", alert_sms="", smtp_url="")  # empty boxes: no one, but the SMTP URL stays
    session.expire_all()
    assert (office.alert_email, office.alert_sms) == (None, None) and office.smtp_url_encrypted is not None


def test_refused_alert_settings_are_named_next_to_their_field(
    admin_pages: PageClient, session: Session, office: Office
) -> None:
    admin_pages.get("/config")
    response = admin_pages.post("/config", {**FORM, "alert_email": "manager@", "alert_sms": "12"})
    assert response.status_code == 422
    assert 'id="e-alert_email"' in response.text and "is not an email address" in response.text
    assert 'id="e-alert_sms"' in response.text
    assert 'value="manager@"' in response.text  # kept for correcting
    response = admin_pages.post("/config", {**FORM, "smtp_url": "https://alerts:mail-pass-0123@mail.example"})
    assert response.status_code == 422 and 'id="e-smtp_url"' in response.text
    assert "mail-pass-0123" not in response.text
    session.expire_all()
    assert (office.alert_email, office.smtp_url_encrypted) == (None, None)


def test_the_test_alert_button_says_what_happened_in_plain_words(
    admin_pages: PageClient, session: Session, office: Office
) -> None:
    admin_pages.get("/config")
    assert admin_pages.client.post("/config/alerts/test", follow_redirects=False).status_code == 403  # no CSRF token
    response = admin_pages.post("/config/alerts/test")
    assert (response.status_code, response.headers["location"]) == (303, "/config#alerts")
    assert (
        "No test alert sent: save an alert email address or an alert SMS number first."
        in admin_pages.get("/config").text
    )
    with socket.socket() as sock:  # a port where nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    no_twilio = {"twilio_account_sid": "", "twilio_auth_token": "", "twilio_phone_number": ""}
    alerts = {"alert_email": "manager@riverside.example", "alert_sms": "+13035550199"}
    save(admin_pages, **no_twilio, **alerts, smtp_url=f"smtp://127.0.0.1:{port}")
    admin_pages.post("/config/alerts/test")
    page = admin_pages.get("/config").text
    assert (
        f"The test alert by email to manager@riverside.example failed: 127.0.0.1:{port} refused the connection "
        "(check the host and port)." in page
    )
    assert "The test alert by SMS to +13035550199 failed: Twilio is not configured" in page
    entry = audit_trail(session, "office")[-1]
    assert (entry.action, entry.detail) == ("test_alert", {"sent": []})


def test_only_admins_send_test_alerts(staff_pages: PageClient) -> None:
    assert staff_pages.post("/config/alerts/test").status_code == 403


def test_alert_settings_from_the_environment_win_and_are_pointed_out(
    database_url: str, session: Session, admin_user: StaffUser, office: Office
) -> None:
    from clinic_reminders.settings import Settings
    from clinic_reminders.web.app import create_app

    office.alert_email = "row@riverside.example"
    session.commit()
    settings = Settings(database_url=database_url, secret_key=TEST_SECRET_KEY, alert_email="env@riverside.example")
    page = sign_in(TestClient(create_app(settings, session.get_bind())), admin_user.email).get("/config").text  # type: ignore[arg-type]
    assert "from <code>REMINDERS_ALERT_EMAIL</code> in the server's environment" in page
    assert 'value="env@riverside.example"' in page and 'value="row@riverside.example"' not in page
    assert "Alerts now go to: <strong>no email to env@riverside.example" in page


def test_every_refused_field_is_said_in_plain_words_at_once(admin_pages: PageClient) -> None:
    admin_pages.get("/config")
    response = admin_pages.post(
        "/config",
        {
            **FORM,
            "sms_price_per_segment": "cheap",
            "public_port": "99999",
            "max_reminders_per_day": "one",
            "twilio_api_key": "SK123",
            "smtp_url": "mail.example.com",  # no scheme: checked with the others, not after them
        },
    )
    assert response.status_code == 422
    errors = dict(re.findall(r'<p class="error" id="e-(\w+)">([^<]+)</p>', response.text))
    assert errors["sms_price_per_segment"] == "give a number, e.g. 0.0079"
    assert errors["public_port"] == "give 65535 or less"
    assert errors["max_reminders_per_day"] == "give a whole number, e.g. 3"
    assert errors["twilio_api_key"].startswith("an API Key SID is SK and 32 letters and digits")
    assert errors["smtp_url"].startswith("give it as smtp://")
    assert "Input should" not in response.text and "String should" not in response.text
    assert '<a href="#f-sms_price_per_segment">Price per SMS segment</a>' in response.text


def test_values_from_the_environment_are_shown_masked_and_labelled(
    app: FastAPI, admin_pages: PageClient, settings: Settings
) -> None:
    app.state.settings = settings.model_copy(
        update={"twilio_account_sid": SID, "twilio_auth_token": SecretStr(AUTH_TOKEN), "alert_sms": "+13035550199"}
    )
    html = admin_pages.get("/config").text
    assert "In force: <span" in html and "<code>TWILIO_ACCOUNT_SID</code>" in html
    assert 'value="AC••••cdef"' in html and "Account SID (from the environment)" in html
    assert "••••1234 (from TWILIO_AUTH_TOKEN)" in html and AUTH_TOKEN not in html and SID not in html
    assert 'value="+13035550199"' in html and "<code>REMINDERS_ALERT_SMS</code>" in html
