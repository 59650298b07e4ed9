"""/twilio/status finds the message its URL names (`?m=ID`, signed with the rest of the URL), also before the
message's SID is recorded; a callback whose URL names none finds its message by SID."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_reminders.gateways import SIGNATURE_HEADER, compute_signature
from clinic_reminders.models import DeliveryEvent, Direction, Message, MessageStatus, Office
from clinic_reminders.settings import Settings
from tests.web import webhooks

SID = "SM" + "a" * 32
OTHER_SID = "SM" + "b" * 32


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return Settings(**{**settings.model_dump(), **webhooks.TWILIO_SETTINGS})


@pytest.fixture
def twilio(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def outbound(session: Session, office: Office, sid: str | None = None, status: str = MessageStatus.PENDING) -> Message:
    message = Message(
        office_id=office.id,
        direction=Direction.OUTBOUND,
        channel="sms",
        to_number="+12125557001",
        from_number=webhooks.CLINIC_NUMBER,
        body="Reminder: reply 1 to confirm",
        twilio_sid=sid,
        status=status,
    )
    session.add(message)
    session.commit()
    return message


def report(client: TestClient, query: str, sid: str = SID, status: str = "sent") -> int:
    params = {"AccountSid": webhooks.ACCOUNT_SID, "MessageSid": sid, "MessageStatus": status}
    return int(webhooks.post(client, f"/twilio/status{query}", params).status_code)


def fresh(session: Session, message: Message) -> Message:
    session.expire_all()
    found = session.get(Message, message.id)
    assert found is not None
    return found


def events(session: Session) -> list[tuple[int | None, str, str]]:
    rows = session.execute(select(DeliveryEvent.message_id, DeliveryEvent.twilio_sid, DeliveryEvent.status))
    return sorted((m, s, st) for m, s, st in rows)


@pytest.mark.parametrize("name", ["m", "reply"])  # `reply`: automatic replies' URLs before `m`, still in flight
def test_it_finds_the_message_its_url_names_before_the_sid_is_recorded(
    twilio: TestClient, session: Session, office: Office, name: str
) -> None:
    message = outbound(session, office)
    assert report(twilio, f"?{name}={message.id}") == 204
    assert report(twilio, f"?{name}={message.id}", status="delivered") == 204
    assert (fresh(session, message).twilio_sid, fresh(session, message).status) == (SID, "delivered")
    assert events(session) == [(message.id, SID, "delivered"), (message.id, SID, "sent")]


def test_the_id_in_the_url_is_signed_with_it(twilio: TestClient, session: Session, office: Office) -> None:
    message = outbound(session, office)
    decoy = outbound(session, office)
    params = {"AccountSid": webhooks.ACCOUNT_SID, "MessageSid": SID, "MessageStatus": "sent"}
    signed_for_decoy = compute_signature(
        webhooks.AUTH_TOKEN, f"{webhooks.PUBLIC_URL}/twilio/status?m={decoy.id}", params
    )
    answer = twilio.post(f"/twilio/status?m={message.id}", data=params, headers={SIGNATURE_HEADER: signed_for_decoy})
    assert answer.status_code == 403
    assert (fresh(session, message).twilio_sid, fresh(session, message).status) == (None, MessageStatus.PENDING)
    assert events(session) == []


@pytest.mark.parametrize("query", ["", "?m=", "?m=abc", f"?m={2**64}", "?m=999999"])
def test_a_callback_naming_no_message_of_ours_finds_it_by_sid(
    twilio: TestClient, session: Session, office: Office, query: str
) -> None:
    message = outbound(session, office, sid=SID, status="queued")
    assert report(twilio, query) == 204
    assert fresh(session, message).status == "sent"
    assert events(session) == [(message.id, SID, "sent")]


def test_a_named_message_that_holds_another_sid_keeps_it(twilio: TestClient, session: Session, office: Office) -> None:
    """The row was sent twice (the first answer lost, the text not in Twilio's list yet): the other text's
    callbacks are kept in the trail, and change nothing."""
    message = outbound(session, office, sid=SID, status="queued")
    assert report(twilio, f"?m={message.id}", sid=OTHER_SID, status="delivered") == 204
    assert (fresh(session, message).twilio_sid, fresh(session, message).status) == (SID, "queued")
    assert events(session) == [(None, OTHER_SID, "delivered")]


def test_a_named_inbound_message_takes_no_sid(twilio: TestClient, session: Session, office: Office) -> None:
    received = outbound(session, office, status=MessageStatus.RECEIVED)
    received.direction = Direction.INBOUND
    session.commit()
    assert report(twilio, f"?m={received.id}") == 204
    assert fresh(session, received).twilio_sid is None
    assert events(session) == [(None, SID, "sent")]
