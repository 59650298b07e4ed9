"""/api/office: everyone reads it with secrets masked; admins change it; secrets are stored encrypted."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from clinic_reminders.crypto import SecretBox
from clinic_reminders.models import Office, StaffUser
from tests.conftest import TEST_SECRET_KEY
from tests.web.helpers import audit_trail, error_fields

SID = "AC" + "0123456789abcdef" * 2
API_KEY = "SK" + "fedcba9876543210" * 2
AUTH_TOKEN = "f00dfeedf00dfeedf00dfeedf00d1234"
API_SECRET = "s3cr3t-api-secret-value-abcd5678"


def _raw_secrets(session: Session, office: Office) -> tuple[str | None, str | None]:
    """The columns as stored, read without the ORM."""
    row = session.execute(
        text("SELECT twilio_auth_token_encrypted, twilio_api_secret_encrypted FROM offices WHERE id = :id"),
        {"id": office.id},
    ).one()
    session.rollback()
    return row[0], row[1]


def _configure(client: TestClient, **fields: object) -> dict[str, object]:
    response = client.put("/api/office", json=fields)
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def test_it_shows_the_configuration_to_staff_with_nothing_secret_set(staff_client: TestClient) -> None:
    body = staff_client.get("/api/office").json()
    assert body["twilio_auth_token"] is None and body["twilio_api_secret"] is None
    assert (body["http_type"], body["public_port"], body["quiet_hours_start"]) == ("https", 8080, "08:00:00")


def test_it_stores_secrets_encrypted_and_never_returns_them(
    admin_client: TestClient, staff_client: TestClient, session: Session, office: Office, admin_user: StaffUser
) -> None:
    body = _configure(
        admin_client,
        public_host="clinic.example.com",
        http_type="https",
        public_port=8443,
        twilio_phone_number="(212) 555-0199",
        twilio_account_sid=SID,
        twilio_api_key=API_KEY,
        twilio_auth_token=AUTH_TOKEN,
        twilio_api_secret=API_SECRET,
    )
    assert body["public_url"] == "https://clinic.example.com:8443"
    assert body["twilio_phone_number"] == "+12125550199"
    assert (body["twilio_auth_token"], body["twilio_api_secret"]) == ("••••1234", "••••5678")
    for client in (admin_client, staff_client):
        answer = client.get("/api/office").text
        assert AUTH_TOKEN not in answer and API_SECRET not in answer
    token, secret = _raw_secrets(session, office)
    assert token and secret and AUTH_TOKEN not in token and API_SECRET not in secret
    box = SecretBox(TEST_SECRET_KEY)
    assert (box.decrypt(token), box.decrypt(secret)) == (AUTH_TOKEN, API_SECRET)
    [entry] = audit_trail(session, "office")
    assert entry.actor == f"user:{admin_user.id}"
    assert AUTH_TOKEN not in str(entry.detail) and "twilio_auth_token" in entry.detail["fields"]


def test_an_empty_or_masked_secret_keeps_the_stored_one(
    admin_client: TestClient, session: Session, office: Office
) -> None:
    _configure(admin_client, twilio_auth_token=AUTH_TOKEN)
    stored = _raw_secrets(session, office)[0]
    _configure(admin_client, twilio_auth_token="")
    as_read = admin_client.get("/api/office").json()
    _configure(
        admin_client,
        **{k: v for k, v in as_read.items() if k not in ("id", "public_url", "updated_at", "writeback_destinations")},
    )
    assert _raw_secrets(session, office)[0] == stored


def test_null_or_the_clear_flag_removes_a_secret(admin_client: TestClient, session: Session, office: Office) -> None:
    _configure(admin_client, twilio_auth_token=AUTH_TOKEN, twilio_api_secret=API_SECRET)
    assert _configure(admin_client, twilio_auth_token=None)["twilio_auth_token"] is None
    assert _configure(admin_client, clear_twilio_api_secret=True)["twilio_api_secret"] is None
    assert _raw_secrets(session, office) == (None, None)
    response = admin_client.patch("/api/office", json={"twilio_api_secret": "x" * 32, "clear_twilio_api_secret": True})
    assert "clear_twilio_api_secret" in error_fields(response)


def test_it_rejects_bad_values_naming_each_field(admin_client: TestClient) -> None:
    response = admin_client.patch(
        "/api/office",
        json={
            "public_host": "https://clinic.example.com/app",
            "http_type": "ftp",
            "public_port": 70000,
            "twilio_account_sid": "AC123",
            "twilio_phone_number": "call me",
            "max_reminders_per_day": -1,
        },
    )
    assert set(error_fields(response)) == {
        "public_host",
        "http_type",
        "public_port",
        "twilio_account_sid",
        "twilio_phone_number",
        "max_reminders_per_day",
    }


def test_a_failed_change_changes_nothing(admin_client: TestClient, session: Session, office: Office) -> None:
    response = admin_client.patch(
        "/api/office", json={"name": "Renamed", "twilio_auth_token": AUTH_TOKEN, "quiet_hours_start": "22:00"}
    )
    assert error_fields(response) == {"quiet_hours_end": "must be after quiet_hours_start"}
    response = admin_client.patch("/api/office", json={"max_reminders_per_day": 5})
    assert "max_reminders_per_week" in error_fields(response)
    assert "public_port" in error_fields(admin_client.patch("/api/office", json={"public_port": None}))
    session.refresh(office)
    assert (office.name, office.twilio_auth_token_encrypted, office.max_reminders_per_day) == (
        "Riverside Family Medicine",
        None,
        1,
    )
    assert audit_trail(session, "office") == []


def test_it_changes_quiet_hours_and_limits(admin_client: TestClient) -> None:
    body = _configure(
        admin_client,
        quiet_hours_start="09:00",
        quiet_hours_end="20:00",
        max_reminders_per_week=2,
        include_visit_reason=True,
    )
    assert (body["quiet_hours_start"], body["quiet_hours_end"], body["max_reminders_per_week"]) == (
        "09:00:00",
        "20:00:00",
        2,
    )
    assert body["include_visit_reason"] is True


def test_the_staff_role_cannot_change_it(staff_client: TestClient, session: Session, office: Office) -> None:
    for method in ("PUT", "PATCH"):
        response = staff_client.request(method, "/api/office", json={"name": "Hijacked", "twilio_auth_token": "x" * 32})
        assert response.status_code == 403
    session.refresh(office)
    assert (office.name, office.twilio_auth_token_encrypted) == ("Riverside Family Medicine", None)


def test_it_shows_each_user_their_own_office(admin_client: TestClient, session: Session, other_office: Office) -> None:
    other_office.twilio_auth_token_encrypted = SecretBox(TEST_SECRET_KEY).encrypt("their-token-000000000000")
    session.commit()
    body = admin_client.get("/api/office").json()
    assert body["name"] == "Riverside Family Medicine"
    assert body["twilio_auth_token"] is None
    _configure(admin_client, name="Renamed")
    session.refresh(other_office)
    assert other_office.name == "Other Office"


SMTP_URL = "smtp://alerts:mail-pass-0123@smtp.riverside.example:587?starttls=1&from=alerts@riverside.example"


def test_it_sets_who_gets_alerts_with_the_smtp_url_write_only(
    admin_client: TestClient, staff_client: TestClient, session: Session, office: Office
) -> None:
    body = _configure(
        admin_client,
        alert_email=" manager@riverside.example ,it@riverside.example",
        alert_sms="(303) 555-0199",
        smtp_url=SMTP_URL,
    )
    assert (body["alert_email"], body["alert_sms"]) == (
        "manager@riverside.example, it@riverside.example",
        "+13035550199",
    )
    assert body["smtp_url"] == "••••@smtp.riverside.example:587"
    for client in (admin_client, staff_client):
        answer = client.get("/api/office").text
        assert "mail-pass-0123" not in answer and "alerts:" not in answer
        assert "manager@riverside.example, it@riverside.example" in answer
    session.expire_all()
    assert office.smtp_url_encrypted and "mail-pass-0123" not in office.smtp_url_encrypted
    assert SecretBox(TEST_SECRET_KEY).decrypt(office.smtp_url_encrypted) == SMTP_URL
    [entry] = audit_trail(session, "office")
    assert entry.detail["fields"] == ["alert_email", "alert_sms", "smtp_url"]
    assert "mail-pass-0123" not in str(entry.detail) and "riverside.example" not in str(entry.detail)
    # the masked value sent back keeps it; null or the clear flag removes each
    stored = office.smtp_url_encrypted
    _configure(admin_client, smtp_url=body["smtp_url"], alert_email=body["alert_email"])
    session.expire_all()
    assert office.smtp_url_encrypted == stored
    cleared = _configure(admin_client, alert_email=None, alert_sms=None, clear_smtp_url=True)
    assert (cleared["alert_email"], cleared["alert_sms"], cleared["smtp_url"]) == (None, None, None)


def test_it_refuses_bad_alert_settings_without_repeating_them(admin_client: TestClient, office: Office) -> None:
    six = ", ".join(f"person{n}@riverside.example" for n in range(6))
    assert "at most 5" in error_fields(admin_client.patch("/api/office", json={"alert_email": six}))["alert_email"]
    response = admin_client.patch(
        "/api/office",
        json={"alert_email": "manager@riverside.example, not-an-address", "alert_sms": "call me"},
    )
    errors = error_fields(response)
    assert errors["alert_email"].endswith("address 2 of 2 is not an email address such as office@clinic.example.com")
    assert "alert_sms" in errors and "not-an-address" not in response.text
    for url in ("https://user:mail-pass-0123@mail.example", "smtp://user:mail-pass-0123@mail.example:99999"):
        response = admin_client.patch("/api/office", json={"smtp_url": url})
        assert "smtp_url" in error_fields(response) and "mail-pass-0123" not in response.text
    response = admin_client.patch("/api/office", json={"smtp_url": SMTP_URL, "clear_smtp_url": True})
    assert "clear_smtp_url" in error_fields(response)
    assert admin_client.get("/api/office").json()["smtp_url"] is None


def test_the_staff_role_cannot_change_who_gets_alerts(staff_client: TestClient) -> None:
    response = staff_client.patch("/api/office", json={"alert_email": "attacker@evil.example", "smtp_url": SMTP_URL})
    assert response.status_code == 403
    body = staff_client.get("/api/office").json()
    assert (body["alert_email"], body["smtp_url"]) == (None, None)
