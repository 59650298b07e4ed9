"""The write-back pages: admins add, edit, test, rotate, resume and delete destinations (a webhook's secret shown once,
no secret ever again); everyone watches the deliveries, admins send one again. Only the office's own rows."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_reminders.crypto import SecretBox
from clinic_reminders.models import Delivery, Destination, Office, utcnow
from tests.conftest import TEST_SECRET_KEY
from tests.web.helpers import count
from tests.web.pages import PageClient
from tests.web.writeback_support import (
    REFUSED,
    RecordingTransport,
    add_delivery,
    ca_certificate_pem,
    rsa_key_pem,
    use_transport,
)

WEBHOOK_FORM = {"kind": "webhook", "name": "Practice system", "url": "https://pms.example.com/hooks", "enabled": "on"}
SECRET = re.compile(r'id="new-secret"[^>]*value="(whsec_[^"]+)"')


def _add_webhook(pages: PageClient, **changes: str) -> tuple[Destination, str, str]:
    """Adds one through the form; returns it, its secret as the page showed it, and the page."""
    pages.get("/config/writeback/new?kind=webhook")
    response = pages.post("/config/writeback/new", {**WEBHOOK_FORM, **changes})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    match = SECRET.search(response.text)
    assert match, "the new secret is not on the page"
    pages.get("/config/writeback")  # the page's token for the next post
    return _only(pages), match.group(1), response.text


def _only(pages: PageClient) -> Destination:
    with pages.client.app.state.sessions() as db:  # type: ignore[attr-defined]
        destination: Destination = db.scalars(select(Destination)).one()
        db.expunge(destination)
        return destination


def test_a_webhook_is_added_and_its_secret_shown_once(admin_pages: PageClient) -> None:
    destination, secret, page = _add_webhook(admin_pages, event_types="appointment.confirmed")
    assert "Copy it now: it is shown this once." in page
    assert destination.settings == {"url": "https://pms.example.com/hooks", "event_types": ["appointment.confirmed"]}
    assert SecretBox(TEST_SECRET_KEY).decrypt(destination.secret_encrypted or "") == secret
    for url in ("/config/writeback", f"/config/writeback/{destination.id}", "/config", "/deliveries"):
        shown = admin_pages.get(url)
        assert shown.status_code == 200, url
        assert secret not in shown.text and "whsec_" not in shown.text, url
    listing = admin_pages.get("/config/writeback").text
    assert "https://pms.example.com/hooks" in listing and "Active" in listing
    config = admin_pages.get("/config").text
    assert "Write-back to the practice-management system" in config and "Practice system" in config


def test_a_refused_form_comes_back_with_the_message_at_its_field(admin_pages: PageClient, session: Session) -> None:
    admin_pages.get("/config/writeback/new?kind=webhook")
    response = admin_pages.post("/config/writeback/new", {**WEBHOOK_FORM, "url": "http://pms.example.com/hooks"})
    assert response.status_code == 422
    assert 'id="e-url"' in response.text and "must start with https://" in response.text
    assert 'value="http://pms.example.com/hooks"' in response.text  # as typed, to correct it
    assert count(session, Destination) == 0


def test_an_hl7_destination_with_tls_and_a_private_ca(admin_pages: PageClient) -> None:
    form = {"kind": "hl7", "name": "Interface engine", "host": "engine.pms.example.com", "enabled": "on"}
    admin_pages.get("/config/writeback/new?kind=hl7")
    refused = admin_pages.post("/config/writeback/new", {**form, "port": "25x75"})
    assert refused.status_code == 422 and "give a whole number from 1 to 65535" in refused.text
    saved = admin_pages.post(
        "/config/writeback/new",
        {**form, "port": "2575", "tls": "on", "ca_certificate": ca_certificate_pem(), "opt_out_message": "none"},
    )
    assert saved.status_code == 303, saved.text
    listing = admin_pages.get("/config/writeback").text
    assert "engine.pms.example.com:2575 (TLS)" in listing and "Destination “Interface engine” added." in listing
    assert _only(admin_pages).settings["opt_out_message"] == "none"


def test_a_fhir_token_and_key_are_write_only(admin_pages: PageClient) -> None:
    form = {"kind": "fhir", "name": "FHIR server", "base_url": "https://fhir.pms.example.com/r4", "enabled": "on"}
    admin_pages.get("/config/writeback/new?kind=fhir")
    missing = admin_pages.post("/config/writeback/new", {**form, "auth": "bearer"})
    assert missing.status_code == 422 and 'id="e-token"' in missing.text
    saved = admin_pages.post("/config/writeback/new", {**form, "auth": "bearer", "token": "tok-0123456789"})
    assert saved.status_code == 303
    destination = _only(admin_pages)
    edit = admin_pages.get(f"/config/writeback/{destination.id}")
    assert "tok-0123456789" not in edit.text and "A secret is saved: leave this empty to keep it." in edit.text
    smart = {**form, "auth": "smart", "client_id": "reminders", "token_url": "https://fhir.pms.example.com/token"}
    refused = admin_pages.post(f"/config/writeback/{destination.id}", {**smart, "key_id": "k1"})
    assert refused.status_code == 422 and 'id="e-private_key"' in refused.text  # the token is no private key
    key = rsa_key_pem()
    changed = admin_pages.post(f"/config/writeback/{destination.id}", {**smart, "key_id": "k1", "private_key": key})
    assert changed.status_code == 303
    assert key.splitlines()[1] not in admin_pages.get(f"/config/writeback/{destination.id}").text
    assert SecretBox(TEST_SECRET_KEY).decrypt(_only(admin_pages).secret_encrypted or "") == key


def test_the_test_button_shows_what_the_destination_answered(
    admin_pages: PageClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    destination, _, _ = _add_webhook(admin_pages)
    transport = use_transport(monkeypatch, RecordingTransport(answer="HTTP 200"))
    response = admin_pages.post(f"/config/writeback/{destination.id}/test")
    assert response.headers["location"] == f"/config/writeback#destination-{destination.id}"
    page = admin_pages.get("/config/writeback").text
    assert "Test event sent to “Practice system”: OK: HTTP 200" in page
    assert transport.sent[0][1]["type"] == "writeback.test"
    transport.failure = REFUSED
    admin_pages.post(f"/config/writeback/{destination.id}/test")
    page = admin_pages.get("/config/writeback").text
    assert 'class="flash error"' in page and "Failed: HTTP 503 from the receiver" in page
    assert "Failed: HTTP 503 from the receiver" in admin_pages.get("/config").text  # its last result


def test_rotating_shows_the_new_secret_once(admin_pages: PageClient) -> None:
    destination, first, _ = _add_webhook(admin_pages)
    response = admin_pages.post(f"/config/writeback/{destination.id}/rotate-secret")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    match = SECRET.search(response.text)
    assert match and match.group(1) != first
    assert SecretBox(TEST_SECRET_KEY).decrypt(_only(admin_pages).secret_encrypted or "") == match.group(1)
    assert match.group(1) not in admin_pages.get("/config/writeback").text


def test_a_fhir_destinations_subscription_token_is_shown_once_with_its_endpoint(admin_pages: PageClient) -> None:
    form = {"kind": "fhir", "name": "FHIR server", "base_url": "https://fhir.pms.example.com/r4", "enabled": "on"}
    admin_pages.get("/config/writeback/new?kind=fhir")
    admin_pages.post("/config/writeback/new", {**form, "auth": "bearer", "token": "tok-0123456789"})
    destination = _only(admin_pages)
    assert "Make a Subscription token" in admin_pages.get("/config/writeback").text
    response = admin_pages.post(f"/config/writeback/{destination.id}/subscription-token")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    assert f"/fhir/subscription/{destination.id}" in response.text
    match = re.search(r'id="new-secret"[^>]*value="(fhs_[^"]+)"', response.text)
    assert match
    listing = admin_pages.get("/config/writeback").text
    assert match.group(1) not in listing and "New Subscription token" in listing


def test_a_paused_destination_is_shown_with_its_reason_and_resumed(
    admin_pages: PageClient, session: Session, office: Office
) -> None:
    destination, _, _ = _add_webhook(admin_pages)
    row = session.get(Destination, destination.id)
    assert row is not None
    row.paused_at, row.paused_reason = utcnow(), "no answer for 3 days: HTTP 503"
    failed = add_delivery(session, office, row, "failed", attempts=30, last_error="HTTP 503")
    session.commit()
    listing = admin_pages.get("/config/writeback").text
    assert "Paused" in listing and "no answer for 3 days: HTTP 503" in listing
    assert "Paused: no answer for 3 days: HTTP 503" in admin_pages.get("/config").text
    deliveries = admin_pages.get("/deliveries").text
    assert "“Practice system” is paused" in deliveries
    response = admin_pages.post(f"/config/writeback/{destination.id}/resume", {"retry_failed": "on"})
    assert response.status_code == 303
    assert "resumed. 1 failed delivery is sent again." in admin_pages.get("/config/writeback").text
    session.expire_all()
    assert session.get(Delivery, failed.id).status == "pending"  # type: ignore[union-attr]
    assert session.get(Destination, destination.id).paused_at is None  # type: ignore[union-attr]


def test_turning_off_and_deleting_after_a_confirmation(admin_pages: PageClient, session: Session) -> None:
    destination, _, _ = _add_webhook(admin_pages)
    admin_pages.post(f"/config/writeback/{destination.id}/enabled")
    assert "Turned off" in admin_pages.get("/config/writeback").text
    confirm = admin_pages.get(f"/config/writeback/{destination.id}/delete")
    assert "Delete “Practice system”?" in confirm.text and "turn it off instead" in confirm.text
    assert count(session, Destination) == 1
    response = admin_pages.post(f"/config/writeback/{destination.id}/delete")
    assert response.headers["location"] == "/config/writeback"
    assert "deleted, with its deliveries" in admin_pages.get("/config/writeback").text
    assert count(session, Destination) == 0


def test_another_offices_destination_and_delivery_are_not_found(
    admin_pages: PageClient, session: Session, other_office: Office
) -> None:
    theirs = Destination(office_id=other_office.id, name="Theirs", kind="webhook", settings={"url": "https://x.org"})
    session.add(theirs)
    session.flush()
    delivery = add_delivery(session, other_office, theirs, "failed")
    session.commit()
    admin_pages.get("/config/writeback")
    for url in (f"/config/writeback/{theirs.id}", f"/config/writeback/{theirs.id}/delete"):
        assert admin_pages.get(url).status_code == 404, url
    for url in ("", "/test", "/rotate-secret", "/resume", "/enabled", "/delete"):
        assert admin_pages.post(f"/config/writeback/{theirs.id}{url}").status_code == 404, url
    assert admin_pages.post(f"/deliveries/{delivery.id}/retry").status_code == 404
    assert "Theirs" not in admin_pages.get("/deliveries").text
    session.expire_all()
    assert session.get(Destination, theirs.id).enabled  # type: ignore[union-attr]


def test_the_deliveries_page_lists_and_sends_again(admin_pages: PageClient, session: Session, office: Office) -> None:
    destination, _, _ = _add_webhook(admin_pages)
    row = session.get(Destination, destination.id)
    assert row is not None
    failed = add_delivery(session, office, row, "failed", appointment_id=41, attempts=30, last_error="HTTP 500")
    add_delivery(session, office, row, "delivered", appointment_id=42, attempts=1)
    session.commit()
    page = admin_pages.get("/deliveries")
    assert 'href="/deliveries" aria-current="page"' in page.text
    table = page.text.split('<table class="deliveries">')[1]
    assert table.index("#42") < table.index("#41")  # newest first
    failed_row = page.text.split(f'id="delivery-{failed.id}"')[1].split("</tr>")[0]
    for shown in ("Practice system", "appointment.confirmed", "#41", "Failed", "30", "HTTP 500", "Send again"):
        assert shown in failed_row, shown
    only_failed = admin_pages.get("/deliveries?status=failed").text
    assert "#41" in only_failed and "#42" not in only_failed
    response = admin_pages.post(f"/deliveries/{failed.id}/retry", {"back": "/deliveries?status=failed"})
    assert response.headers["location"] == "/deliveries?status=failed"
    after = admin_pages.get("/deliveries?status=pending").text
    assert f"Delivery {failed.id} is sent again" in after and "#41" in after
    session.expire_all()
    assert session.get(Delivery, failed.id).first_attempt_at is None  # type: ignore[union-attr]


def test_staff_watch_the_deliveries_but_change_nothing(
    staff_pages: PageClient, session: Session, office: Office
) -> None:
    destination = Destination(office_id=office.id, name="PMS", kind="webhook", settings={"url": "https://x.org"})
    session.add(destination)
    session.flush()
    failed = add_delivery(session, office, destination, "failed", appointment_id=5, last_error="HTTP 500")
    session.commit()
    page = staff_pages.get("/deliveries")
    assert page.status_code == 200 and "HTTP 500" in page.text and "Send again</button>" not in page.text
    assert staff_pages.get("/config/writeback").status_code == 403
    assert staff_pages.post(f"/deliveries/{failed.id}/retry").status_code == 403
    assert staff_pages.post(f"/config/writeback/{destination.id}/test").status_code == 403
    session.expire_all()
    assert session.get(Delivery, failed.id).status == "failed"  # type: ignore[union-attr]


def test_every_write_back_form_needs_the_sessions_token(admin_pages: PageClient, session: Session) -> None:
    destination, _, _ = _add_webhook(admin_pages)
    for url in ("/config/writeback/new", *(f"/config/writeback/{destination.id}{s}" for s in ("", "/test", "/delete"))):
        response = admin_pages.client.post(url, data={"csrf_token": "forged", **WEBHOOK_FORM}, follow_redirects=False)
        assert response.status_code == 403, url
    assert count(session, Destination) == 1
