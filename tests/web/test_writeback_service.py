"""writeback.destinations: destinations made, changed, tested, rotated, resumed and deleted; deliveries sent again.
Secrets are encrypted at rest and in no audit entry; refused input changes nothing."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from clinic_reminders.crypto import SecretBox
from clinic_reminders.models import AuditEntry, Delivery, Destination, Office, utcnow
from clinic_reminders.refusals import Refusal, Refused
from clinic_reminders.writeback import destinations
from clinic_reminders.writeback.destinations import Saved
from tests.conftest import TEST_SECRET_KEY
from tests.web.helpers import count
from tests.web.writeback_support import REFUSED, RecordingTransport, add_delivery, rsa_key_pem, use_transport

BOX = SecretBox(TEST_SECRET_KEY)
ACTOR = "user:1"
TOKEN = "fhir-token-0123456789abcdef"


def _webhook(session: Session, office: Office, name: str = "Practice system", **settings: object) -> Saved:
    saved = destinations.create(
        session,
        office.id,
        name=name,
        kind="webhook",
        settings={"url": "https://pms.example.com/hooks", **settings},
        secret=None,
        enabled=True,
        box=BOX,
        actor=ACTOR,
    )
    session.commit()
    return saved


def _fhir(session: Session, office: Office, secret: str = TOKEN) -> Destination:
    saved = destinations.create(
        session,
        office.id,
        name="FHIR",
        kind="fhir",
        settings={"base_url": "https://fhir.pms.example.com/r4"},
        secret=secret,
        enabled=True,
        box=BOX,
        actor=ACTOR,
    )
    session.commit()
    assert saved.secret is None  # a typed secret is never handed back
    return saved.destination


def _stored(session: Session, destination: Destination) -> str:
    """The secret column as the database holds it."""
    value = session.execute(
        text("SELECT secret_encrypted FROM writeback_destinations WHERE id = :id"), {"id": destination.id}
    ).scalar_one()
    session.rollback()
    return str(value)


def _audit_text(session: Session) -> str:
    session.expire_all()
    entries = session.scalars(select(AuditEntry).where(AuditEntry.entity.like("writeback%"))).all()
    return json.dumps([[e.action, e.entity, e.detail] for e in entries])


def test_a_webhook_gets_a_signing_secret_shown_once_and_stored_encrypted(session: Session, office: Office) -> None:
    saved = _webhook(session, office)
    assert saved.secret is not None and saved.secret.startswith("whsec_")
    stored = _stored(session, saved.destination)
    assert saved.secret not in stored
    assert BOX.decrypt(stored) == saved.secret
    assert saved.destination.settings == {"url": "https://pms.example.com/hooks", "event_types": None}
    assert saved.secret not in _audit_text(session)
    assert '"create", "writeback_destination"' in _audit_text(session)


def test_a_fhir_token_is_stored_encrypted_and_a_new_one_replaces_it(session: Session, office: Office) -> None:
    destination = _fhir(session, office)
    assert BOX.decrypt(_stored(session, destination)) == TOKEN
    changed = destinations.change(session, destination, box=BOX, actor=ACTOR, secret="new-token-abcdef")
    session.commit()
    assert changed == ["secret"]
    assert BOX.decrypt(_stored(session, destination)) == "new-token-abcdef"
    assert destinations.change(session, destination, box=BOX, actor=ACTOR, secret="") == []  # empty keeps it
    audit = _audit_text(session)
    assert TOKEN not in audit and "new-token-abcdef" not in audit
    assert '"fields": ["secret"]' in audit


@pytest.mark.parametrize(
    ("kind", "settings", "secret", "field"),
    [
        ("webhook", {"url": "https://pms.example.com"}, "whsec_mine", "secret"),
        ("hl7", {"host": "pms.example.com", "port": 2575}, "a password", "secret"),
        ("fhir", {"base_url": "https://fhir.example.com"}, None, "secret"),
        ("fhir", {"base_url": "https://fhir.example.com", "auth": "smart"}, TOKEN, "settings.client_id"),
        ("email", {}, None, "kind"),
        ("webhook", {"url": "http://pms.example.com"}, None, "settings.url"),
    ],
)
def test_it_refuses_a_bad_destination_and_saves_nothing(
    session: Session, office: Office, kind: str, settings: dict[str, object], secret: str | None, field: str
) -> None:
    with pytest.raises(Refused) as refused:
        destinations.create(
            session,
            office.id,
            name="X",
            kind=kind,
            settings=settings,
            secret=secret,
            enabled=True,
            box=BOX,
            actor=ACTOR,
        )
    session.rollback()
    assert refused.value.field == field
    assert count(session, Destination) == 0
    assert count(session, AuditEntry) == 0


def test_names_are_unique_in_an_office_only(session: Session, office: Office, other_office: Office) -> None:
    _webhook(session, office)
    with pytest.raises(Refused) as refused:
        _webhook(session, office)
    session.rollback()
    assert (refused.value.field, refused.value.kind) == ("name", Refusal.CONFLICT)
    _webhook(session, other_office)  # another office may use the name


def test_settings_are_replaced_as_a_whole_and_the_changes_named(session: Session, office: Office) -> None:
    destination = _webhook(session, office).destination
    changed = destinations.change(
        session,
        destination,
        box=BOX,
        actor=ACTOR,
        name="PMS",
        settings={"url": "https://pms.example.com/v2", "event_types": ["appointment.cancelled"]},
    )
    session.commit()
    assert changed == ["name", "settings.event_types", "settings.url"]
    session.refresh(destination)
    assert destination.settings == {"url": "https://pms.example.com/v2", "event_types": ["appointment.cancelled"]}
    assert destination.name == "PMS"


def test_switching_a_fhir_server_to_smart_needs_a_key_that_fits(session: Session, office: Office) -> None:
    destination = _fhir(session, office)
    smart = {
        "base_url": "https://fhir.pms.example.com/r4",
        "auth": "smart",
        "client_id": "reminders",
        "token_url": "https://fhir.pms.example.com/token",
        "key_id": "k1",
    }
    with pytest.raises(Refused) as refused:  # the saved token is no private key
        destinations.change(session, destination, box=BOX, actor=ACTOR, settings=smart)
    session.rollback()
    assert refused.value.field == "secret"
    session.refresh(destination)
    assert destination.settings["auth"] == "bearer"
    key = rsa_key_pem()
    destinations.change(session, destination, box=BOX, actor=ACTOR, settings=smart, secret=key)
    session.commit()
    assert BOX.decrypt(_stored(session, destination)) == key
    with pytest.raises(Refused, match="ES384 needs"):  # the saved RSA key does not fit ES384
        destinations.change(session, destination, box=BOX, actor=ACTOR, settings={**smart, "alg": "ES384"})
    session.rollback()


def test_rotating_makes_a_new_secret_for_a_webhook_only(session: Session, office: Office) -> None:
    saved = _webhook(session, office)
    new = destinations.rotate_secret(session, saved.destination, BOX, ACTOR)
    session.commit()
    assert new.startswith("whsec_") and new != saved.secret
    assert BOX.decrypt(_stored(session, saved.destination)) == new
    assert new not in _audit_text(session) and '"rotate_secret"' in _audit_text(session)
    with pytest.raises(Refused) as refused:
        destinations.rotate_secret(session, _fhir(session, office), BOX, ACTOR)
    assert refused.value.kind is Refusal.CONFLICT


def test_a_test_event_goes_through_the_transport_and_its_answer_is_kept(
    session: Session, office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = _webhook(session, office)
    transport = use_transport(monkeypatch, RecordingTransport(answer="HTTP 200"))
    result = destinations.send_test(session, saved.destination, BOX, ACTOR)
    session.commit()
    assert (result.ok, result.result) == (True, "OK: HTTP 200")
    config, payload, timeout = transport.sent[0]
    assert (config.secret, config.settings["url"], timeout) == (saved.secret, "https://pms.example.com/hooks", 10)
    assert payload["type"] == "writeback.test" and payload["id"].startswith("evt_test_")
    assert payload["office_id"] == office.id and payload["data"]["patient"]["family_name"] == "Test"
    session.refresh(saved.destination)
    assert saved.destination.last_result == "OK: HTTP 200" and saved.destination.last_result_at is not None


@pytest.mark.parametrize(
    ("failure", "shown"),
    [
        (REFUSED, "Failed: HTTP 503 from the receiver"),
        (ConnectionError("boom"), "Failed: unexpected error (ConnectionError); the server's log has the details"),
    ],
)
def test_a_failed_test_event_is_the_result_not_an_error(
    session: Session, office: Office, monkeypatch: pytest.MonkeyPatch, failure: Exception, shown: str
) -> None:
    saved = _webhook(session, office)
    use_transport(monkeypatch, RecordingTransport(failure=failure))
    result = destinations.send_test(session, saved.destination, BOX, ACTOR)
    assert (result.ok, result.result) == (False, shown)
    assert saved.destination.last_result == shown


def test_resuming_a_paused_destination_sends_its_failed_deliveries_again(session: Session, office: Office) -> None:
    destination = _webhook(session, office).destination
    failed = add_delivery(session, office, destination, "failed", attempts=12, last_error="HTTP 503")
    delivered = add_delivery(session, office, destination, "delivered", attempts=1)
    destination.paused_at, destination.paused_reason = utcnow(), "failing for 3 days: HTTP 503"
    session.commit()
    assert destinations.resume(session, destination, ACTOR) == 1
    session.commit()
    session.expire_all()
    assert (destination.paused_at, destination.paused_reason) == (None, None)
    again = session.get(Delivery, failed.id)
    assert again is not None
    assert (again.status, again.first_attempt_at, again.attempts) == ("pending", None, 12)
    assert again.next_attempt_at <= utcnow()
    assert session.get(Delivery, delivered.id).status == "delivered"  # type: ignore[union-attr]


def test_resuming_can_leave_the_failed_ones_failed(session: Session, office: Office) -> None:
    destination = _webhook(session, office).destination
    failed = add_delivery(session, office, destination, "failed", attempts=12)
    destination.paused_at = utcnow()
    session.commit()
    assert destinations.resume(session, destination, ACTOR, retry_failed=False) == 0
    session.commit()
    session.expire_all()
    assert destination.paused_at is None
    assert session.get(Delivery, failed.id).status == "failed"  # type: ignore[union-attr]


def test_a_failed_or_pending_delivery_of_the_office_is_sent_again(
    session: Session, office: Office, other_office: Office
) -> None:
    destination = _webhook(session, office).destination
    failed = add_delivery(session, office, destination, "failed", attempts=12, last_error="timeout")
    pending = add_delivery(session, office, destination, "pending", attempts=2)
    delivered = add_delivery(session, office, destination, "delivered", attempts=1)
    session.commit()
    for delivery in (failed, pending):
        destinations.retry_delivery(session, delivery, office.id, ACTOR)
        assert (delivery.status, delivery.first_attempt_at) == ("pending", None)
        assert delivery.next_attempt_at <= utcnow()
    with pytest.raises(Refused) as conflict:
        destinations.retry_delivery(session, delivered, office.id, ACTOR)
    assert conflict.value.kind is Refusal.CONFLICT
    with pytest.raises(Refused) as elsewhere:
        destinations.retry_delivery(session, failed, other_office.id, ACTOR)
    assert elsewhere.value.kind is Refusal.NOT_FOUND


def test_deleting_a_destination_deletes_its_deliveries(session: Session, office: Office) -> None:
    destination = _webhook(session, office).destination
    kept = _webhook(session, office, name="Another").destination
    add_delivery(session, office, destination, "failed")
    add_delivery(session, office, kept, "pending")
    session.commit()
    destinations.remove(session, destination, ACTOR)
    session.commit()
    assert count(session, Destination) == 1
    assert [d.destination_id for d in session.scalars(select(Delivery))] == [kept.id]
    assert '"delete", "writeback_destination"' in _audit_text(session)


def test_a_disabled_destination_says_so_before_a_pause(session: Session, office: Office) -> None:
    destination = _webhook(session, office).destination
    assert destinations.status_of(destination) == "active"
    destination.paused_at = utcnow()
    assert destinations.status_of(destination) == "paused"
    destinations.set_enabled(session, destination, False, ACTOR)
    assert destinations.status_of(destination) == "disabled"
    session.commit()
    assert '"disable", "writeback_destination"' in _audit_text(session)
