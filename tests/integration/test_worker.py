"""The worker against the in-package fake of Twilio (gateways/fake.py), on SQLite and PostgreSQL: what it sends,
what it makes of Twilio's errors, of status callbacks that beat its own bookkeeping, of a lease lost on the way,
and of its own death. No server: Twilio's side is the fake, status callbacks go to `delivery.handle` as the
webhook hands them over (the simulator's tests cover the wire)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders.accounts import the_office
from clinic_reminders.conversations import delivery
from clinic_reminders.dispatcher.worker import Worker
from clinic_reminders.gateways import error_for_code
from clinic_reminders.gateways.errors import RULES
from clinic_reminders.gateways.fake import FakeGateway
from clinic_reminders.models import (
    Clinic,
    Message,
    MessageStatus,
    Office,
    PhoneKind,
    Reminder,
    ReminderRule,
    ReminderStatus,
)
from clinic_reminders.settings import Settings
from tests.conftest import TEST_SECRET_KEY
from tests.factories import make_patient
from tests.integration.dispatch_support import (
    NOW,
    book,
    make_dispatch_clinic,
    make_dispatch_office,
    messages_of,
    reminder_of,
)

PUBLIC = "https://clinic.example.com"
SENDER = "+15005550006"
LATER = NOW + timedelta(minutes=1)  # every lease of NOW has run out, with the longest request on top


@pytest.fixture
def office(session: Session) -> Office:
    return make_dispatch_office(session)


@pytest.fixture
def clinic(session: Session, office: Office) -> Clinic:
    return make_dispatch_clinic(session, office)


@pytest.fixture
def settings(database_url: str) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "secret_key": TEST_SECRET_KEY,
        "public_url": PUBLIC,
        "twilio_phone_number": SENDER,
        "sender_rate": 1000.0,
        "lease_seconds": 3.0,
        "heartbeat_seconds": 0.5,
        "twilio_timeout": 2.0,
    }
    return Settings(**values)


def worker(settings: Settings, sessions: sessionmaker[Session], twilio: FakeGateway, at: datetime = NOW) -> Worker:
    return Worker(settings, sessions, poll_interval=0.01, clock=lambda: at, gateway=twilio)


def run_once(settings: Settings, sessions: sessionmaker[Session], twilio: FakeGateway, at: datetime = NOW) -> None:
    asyncio.run(worker(settings, sessions, twilio, at).run(once=True))


async def until(condition: Callable[[], object]) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


def callback(sessions: sessionmaker[Session], message_id: int, sid: str, status: str, **extra: str) -> None:
    """A status callback as /twilio/status hands it over: its URL named the message."""
    with sessions.begin() as db:
        delivery.handle(
            db, the_office(db).id, {"MessageSid": sid, "MessageStatus": status, **extra}, NOW, str(message_id)
        )


def test_it_sends_a_due_reminder_whose_callback_url_names_its_message(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, office: Office, clinic: Clinic
) -> None:
    patient = make_patient(session, office)
    appointment = book(session, clinic, patient)
    twilio = FakeGateway()
    run_once(settings, session_factory, twilio)
    run_once(settings, session_factory, twilio)

    [text] = twilio.texts
    [message] = messages_of(session, appointment)
    assert (text.to, text.from_, text.body) == (patient.phones[0].number, SENDER, message.body)
    assert text.status_callback == f"{PUBLIC}/twilio/status?m={message.id}"
    assert (message.twilio_sid, message.status) == (text.sid, MessageStatus.QUEUED)
    reminder = reminder_of(session, appointment)
    assert (reminder.status, reminder.lease_owner, reminder.attempts) == (ReminderStatus.SENT, None, 1)


def test_a_voice_reminders_status_callbacks_name_its_message_too(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, office: Office, clinic: Clinic
) -> None:
    session.execute(update(ReminderRule).values(channel="voice"))
    patient = make_patient(session, office, phone_kind=PhoneKind.LANDLINE, voice_consent=True)
    appointment = book(session, clinic, patient)
    twilio = FakeGateway()
    run_once(settings, session_factory, twilio)

    [call] = twilio.calls
    [message] = messages_of(session, appointment)
    assert (call.to, call.from_) == (patient.phones[0].number, clinic.phone)
    assert call.url == f"{PUBLIC}/app_confirm?call={message.id}"
    assert call.status_callback == f"{PUBLIC}/twilio/status?m={message.id}"
    assert message.twilio_sid == call.sid and reminder_of(session, appointment).status == ReminderStatus.SENT


def test_a_refused_number_ends_the_reminder_and_is_flagged(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, office: Office, clinic: Clinic
) -> None:
    patient = make_patient(session, office)
    appointment = book(session, clinic, patient)
    twilio = FakeGateway()
    twilio.fail_next(error_for_code(21211, 400))
    run_once(settings, session_factory, twilio)

    assert twilio.texts == []
    reminder = reminder_of(session, appointment)
    assert (reminder.status, reminder.reason) == (ReminderStatus.FAILED, RULES[21211].reason)
    [message] = messages_of(session, appointment)
    assert (message.status, message.error_code) == (MessageStatus.FAILED, 21211)
    session.refresh(patient.phones[0])
    assert patient.phones[0].invalid_at is not None


def test_a_rate_limited_send_waits_and_then_goes_once_with_the_same_message(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, office: Office, clinic: Clinic
) -> None:
    appointment = book(session, clinic, make_patient(session, office))
    twilio = FakeGateway()
    twilio.fail_next(error_for_code(None, 429))
    run_once(settings, session_factory, twilio)
    reminder = reminder_of(session, appointment)
    assert (reminder.status, twilio.texts) == (ReminderStatus.PLANNED, [])
    assert reminder.due_at > NOW and reminder.reason == "retrying: Twilio is rate limiting requests (HTTP 429)"

    run_once(settings, session_factory, twilio, at=NOW + timedelta(hours=1))
    [text] = twilio.texts
    [message] = messages_of(session, appointment)  # the row written before the first try, sent as it was
    assert message.twilio_sid == text.sid and text.status_callback == f"{PUBLIC}/twilio/status?m={message.id}"
    assert reminder_of(session, appointment).status == ReminderStatus.SENT


def test_a_callback_that_comes_before_twilios_answer_is_recorded_and_kept(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, office: Office, clinic: Clinic
) -> None:
    appointment = book(session, clinic, make_patient(session, office))
    twilio = FakeGateway()

    async def scenario() -> None:
        sending = worker(settings, session_factory, twilio)
        twilio.hold()  # Twilio has the text; its answer to the worker is still on the way...
        await sending.tick()
        await until(lambda: twilio.texts)
        [message] = messages_of(session, appointment)
        callback(session_factory, message.id, twilio.texts[0].sid, "delivered")  # ...when the callback arrives
        twilio.release()
        sending.stop()
        await sending.run()

    asyncio.run(scenario())
    [message] = messages_of(session, appointment)
    assert (message.twilio_sid, message.status) == (twilio.texts[0].sid, MessageStatus.DELIVERED)  # not "queued"
    assert reminder_of(session, appointment).status == ReminderStatus.SENT


def test_a_failure_reported_before_twilios_answer_still_plans_the_retry(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, office: Office, clinic: Clinic
) -> None:
    appointment = book(session, clinic, make_patient(session, office))
    twilio = FakeGateway()

    async def scenario() -> None:
        sending = worker(settings, session_factory, twilio)
        twilio.hold()
        await sending.tick()
        await until(lambda: twilio.texts)
        [message] = messages_of(session, appointment)
        callback(session_factory, message.id, twilio.texts[0].sid, "undelivered", ErrorCode="30003")
        twilio.release()
        sending.stop()
        await sending.run()

    asyncio.run(scenario())
    [message] = messages_of(session, appointment)
    assert (message.status, message.error_code) == (MessageStatus.UNDELIVERED, 30003)
    reminder = reminder_of(session, appointment)
    assert (reminder.status, reminder.reason) == (ReminderStatus.PLANNED, "retrying: the handset is unreachable")
    assert reminder.due_at == NOW + timedelta(hours=1)


def test_a_worker_that_died_after_a_callback_named_its_text_is_not_sent_again(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, office: Office, clinic: Clinic
) -> None:
    appointment = book(session, clinic, make_patient(session, office))
    twilio = FakeGateway()

    async def dies_before_recording() -> None:
        sending = worker(settings, session_factory, twilio)
        twilio.hold()
        await sending.tick()
        await until(lambda: twilio.texts)
        [message] = messages_of(session, appointment)
        callback(session_factory, message.id, twilio.texts[0].sid, "sent")
        # the loop ends here: the worker's send is cancelled before it hears Twilio's answer

    asyncio.run(dies_before_recording())
    assert reminder_of(session, appointment).status == ReminderStatus.SENDING
    # A Twilio whose list shows nothing: had the next worker asked it, it would have sent the text again.
    forgetful = FakeGateway()
    run_once(settings, session_factory, forgetful, at=LATER)

    assert forgetful.texts == []
    [message] = messages_of(session, appointment)
    assert (message.twilio_sid, message.status) == (twilio.texts[0].sid, MessageStatus.SENT)
    assert reminder_of(session, appointment).status == ReminderStatus.SENT


def test_a_lost_answer_is_looked_up_at_twilio_and_not_sent_again(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, office: Office, clinic: Clinic
) -> None:
    appointment = book(session, clinic, make_patient(session, office))
    twilio = FakeGateway()
    twilio.lose_next_answers(1)

    async def hears_nothing_back() -> None:  # `run(once=True)` would wait for the row to be reconciled
        sending = worker(settings, session_factory, twilio)
        await sending.tick()
        sending.stop()
        await sending.run()

    asyncio.run(hears_nothing_back())
    reminder = reminder_of(session, appointment)
    assert reminder.status == ReminderStatus.SENDING and reminder.reason is not None
    assert reminder.reason.startswith("checking with Twilio")

    run_once(settings, session_factory, twilio, at=LATER)
    [text] = twilio.texts
    assert messages_of(session, appointment)[0].twilio_sid == text.sid
    assert reminder_of(session, appointment).status == ReminderStatus.SENT


def test_a_callback_that_comes_while_twilio_is_asked_about_a_lost_answer_is_taken_as_the_answer(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, office: Office, clinic: Clinic
) -> None:
    appointment = book(session, clinic, make_patient(session, office))
    twilio = FakeGateway()
    twilio.lose_next_answers(1)

    async def lost_then_looked_up() -> None:
        sending = worker(settings, session_factory, twilio)
        await sending.tick()
        sending.stop()
        await sending.run()
        looking = worker(settings, session_factory, twilio, at=LATER)
        twilio.hold()  # Twilio's list is slow to answer...
        asking = asyncio.create_task(looking.tick())
        await until(lambda: reminder_of(session, appointment).lease_owner == looking.worker_id)
        [message] = messages_of(session, appointment)
        callback(session_factory, message.id, twilio.texts[0].sid, "sent")  # ...and the callback comes first
        twilio.release()
        await asking
        looking.stop()
        await looking.run()

    asyncio.run(lost_then_looked_up())
    [text] = twilio.texts
    [message] = messages_of(session, appointment)
    assert (message.twilio_sid, message.status) == (text.sid, MessageStatus.SENT)
    assert reminder_of(session, appointment).status == ReminderStatus.SENT


def test_a_worker_that_lost_its_lease_while_twilio_answered_records_nothing(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    office: Office,
    clinic: Clinic,
    caplog: pytest.LogCaptureFixture,
) -> None:
    appointment = book(session, clinic, make_patient(session, office))
    twilio = FakeGateway()

    async def paused_past_its_lease() -> None:
        sending = worker(settings, session_factory, twilio)
        twilio.hold()
        await sending.tick()
        await until(lambda: twilio.texts)
        session.execute(  # another worker took the row over meanwhile, and went quiet too
            update(Reminder).values(
                lease_owner="another-worker",
                lease_generation=Reminder.lease_generation + 1,
                lease_expires_at=NOW - timedelta(hours=1),
            )
        )
        session.commit()
        twilio.release()
        sending.stop()
        await sending.run()

    asyncio.run(paused_past_its_lease())
    [text] = twilio.texts
    reminder = reminder_of(session, appointment)
    assert (reminder.status, reminder.lease_owner) == (ReminderStatus.SENDING, "another-worker")
    [message] = messages_of(session, appointment)
    assert (message.status, message.twilio_sid) == (MessageStatus.PENDING, None)
    assert f"reminder {reminder.id} went to Twilio ({text.sid}) after another worker took it over" in caplog.text

    run_once(settings, session_factory, twilio, at=LATER)  # the next worker finds the text in Twilio's list
    assert twilio.texts == [text]
    session.expire_all()
    assert session.get(Message, message.id).twilio_sid == text.sid  # type: ignore[union-attr]
    assert reminder_of(session, appointment).status == ReminderStatus.SENT
