"""The gateway against the simulator: every operation, the error mapping, webhooks, calls, and injected faults."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient
from twilio.request_validator import RequestValidator

from clinic_reminders.gateways import ErrorAction, ErrorKind, TwilioError, TwilioGateway, WebhookSignatureValidator
from clinic_reminders.gateways.errors import error_for_code
from clinic_reminders.simulator import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, create_simulator_app
from tests.fixtures.simulator import (
    CLINIC_NUMBER,
    PATIENT,
    SECOND_NUMBER,
    ReceivedWebhook,
    SimulatorClient,
    WebhookReceiver,
    default_config,
    wait_until,
)


def send(
    gateway: TwilioGateway,
    to: str = PATIENT,
    from_: str = CLINIC_NUMBER,
    *,
    status_callback: str | None = None,
    validity_period: int | None = None,
) -> str:
    body = "Reminder: visit tomorrow 9:00. Reply 1 to confirm."

    async def go() -> str:
        try:
            sent = await gateway.send_sms(
                to, from_, body, status_callback=status_callback, validity_period=validity_period
            )
            return sent.sid
        finally:
            await gateway.aclose()

    return asyncio.run(go())


def twilio_error(gateway: TwilioGateway, to: str = PATIENT, from_: str = CLINIC_NUMBER) -> TwilioError:
    with pytest.raises(TwilioError) as caught:
        send(gateway, to, from_)
    return caught.value


def assert_signed(request: ReceivedWebhook, receiver: WebhookReceiver) -> None:
    """Valid for RequestValidator on the full URL, and for our validator rebuilt from the public URL."""
    signature = request.headers["x-twilio-signature"]
    params = dict(request.form) if request.method == "POST" else {}
    assert RequestValidator(DEFAULT_AUTH_TOKEN).validate(receiver.url + request.target, params, signature)
    assert WebhookSignatureValidator(DEFAULT_AUTH_TOKEN, receiver.url).is_valid(request.target, request.form, signature)
    assert not WebhookSignatureValidator("another-token", receiver.url).is_valid(
        request.target, request.form, signature
    )


# --- every REST operation --------------------------------------------------------------------------------------


def test_it_reads_the_account_balance_and_numbers(twilio_gateway: TwilioGateway) -> None:
    account = twilio_gateway.fetch_account()
    assert (account.sid, account.type, account.status, account.is_trial) == (
        DEFAULT_ACCOUNT_SID,
        "Full",
        "active",
        False,
    )
    assert twilio_gateway.fetch_balance().amount == Decimal("20.00")
    numbers = {n.phone_number: n for n in twilio_gateway.list_incoming_numbers()}
    assert set(numbers) == {CLINIC_NUMBER, SECOND_NUMBER}
    assert numbers[CLINIC_NUMBER].sms_capable and numbers[CLINIC_NUMBER].voice_capable


def test_it_updates_a_numbers_webhooks(twilio_gateway: TwilioGateway) -> None:
    number = next(n for n in twilio_gateway.list_incoming_numbers() if n.phone_number == CLINIC_NUMBER)
    updated = twilio_gateway.update_number_webhooks(
        number.sid, sms_url="https://clinic.example.com/app_confirm", sms_method="GET", voice_url="https://v.example/v"
    )
    assert (updated.sms_url, updated.sms_method, updated.voice_url) == (
        "https://clinic.example.com/app_confirm",
        "GET",
        "https://v.example/v",
    )
    again = next(n for n in twilio_gateway.list_incoming_numbers() if n.sid == number.sid)
    assert again == updated


def test_it_searches_and_buys_a_number(twilio_gateway: TwilioGateway) -> None:
    found = twilio_gateway.search_available_numbers(area_code=212, in_locality="New York", limit=3)
    assert len(found) == 3 and all(n.phone_number.startswith("+1212") and n.sms_capable for n in found)
    bought = twilio_gateway.buy_number(found[0].phone_number, sms_url="https://c.example/sms", sms_method="GET")
    assert bought.phone_number == found[0].phone_number and bought.sid.startswith("PN") and len(bought.sid) == 34
    assert found[0].phone_number in {n.phone_number for n in twilio_gateway.list_incoming_numbers()}
    assert found[0].phone_number not in {n.phone_number for n in twilio_gateway.search_available_numbers(area_code=212)}
    assert twilio_gateway.search_available_numbers(area_code=533) == []  # Twilio's magic "nothing found"
    with pytest.raises(TwilioError):
        twilio_gateway.buy_number("+15005550000")  # Twilio's magic "not available"


def test_it_verifies_a_caller_id_by_the_code_typed_on_the_call(
    simulator: SimulatorClient, twilio_gateway: TwilioGateway
) -> None:
    assert twilio_gateway.list_caller_ids() == []
    verification = twilio_gateway.start_caller_id_verification("+15557770001")
    assert len(verification.validation_code) == 6 and verification.call_sid
    simulator.answer(verification.call_sid)
    call = simulator.press(verification.call_sid, verification.validation_code)
    assert call["status"] == "completed"
    assert [c.phone_number for c in twilio_gateway.list_caller_ids()] == ["+15557770001"]


def test_it_creates_an_api_key_that_can_log_in(simulator: SimulatorClient, twilio_gateway: TwilioGateway) -> None:
    key = twilio_gateway.create_api_key("reminders")
    assert key.sid.startswith("SK") and len(key.sid) == 34 and key.secret and key.secret not in repr(key)
    assert simulator.gateway(api_key=key.sid, api_secret=key.secret).fetch_balance().currency == "USD"
    with pytest.raises(TwilioError) as caught:
        simulator.gateway(api_key=key.sid, api_secret="wrong").fetch_balance()
    assert caught.value.is_configuration and caught.value.code == 20003


def test_it_creates_a_video_room(twilio_gateway: TwilioGateway, webhook_receiver: WebhookReceiver) -> None:
    callback = webhook_receiver.answer("/video", "")
    room = twilio_gateway.create_video_room("visit-42", max_participants=2, status_callback=callback)
    assert (room.unique_name, room.type, room.status, room.max_participants) == ("visit-42", "group", "in-progress", 2)
    assert room.sid.startswith("RM") and room.url and room.url.endswith(room.sid)
    [event] = webhook_receiver.wait_for("/video")
    assert event.params["StatusCallbackEvent"] == "room-created"
    assert_signed(event, webhook_receiver)
    with pytest.raises(TwilioError) as caught:
        twilio_gateway.create_video_room("visit-42")
    assert caught.value.code == 53113


def test_it_lists_alerts_for_webhooks_that_failed(
    twilio_gateway: TwilioGateway, webhook_receiver: WebhookReceiver
) -> None:
    callback = webhook_receiver.answer("/status", "oops", status=502)
    send(twilio_gateway, status_callback=callback)
    webhook_receiver.wait_for("/status", count=3)
    alerts = twilio_gateway.list_alerts(start_date=datetime.now(UTC) - timedelta(minutes=5))
    assert alerts and {a.error_code for a in alerts} == {"11200"}
    assert alerts[0].request_url == callback


def test_it_looks_up_line_types(twilio_gateway: TwilioGateway) -> None:
    assert twilio_gateway.lookup_line_type(PATIENT).line_type == "mobile"
    assert twilio_gateway.lookup_line_type("+15005553006").line_type == "landline"


def test_it_sends_and_lists_messages_with_twilios_filters(
    simulator: SimulatorClient, twilio_gateway: TwilioGateway
) -> None:
    first = send(twilio_gateway, validity_period=3600)
    second = send(twilio_gateway, to="+15551230002", from_=SECOND_NUMBER)
    [seen] = simulator.messages(to=PATIENT)
    assert (seen["sid"], seen["from"], seen["status"] in ("queued", "sent", "delivered")) == (
        first,
        CLINIC_NUMBER,
        True,
    )
    assert seen["validity_period"] == 3600 and seen["body"].startswith("Reminder")
    for sid in (first, second):  # DateSent filters list a message once it has left Twilio's queue
        simulator.wait_for_message(sid, lambda m: m["status"] != "queued")

    async def listing() -> dict[str, list[str]]:
        today = datetime.now(UTC)
        queries = {
            "to": {"to": PATIENT},
            "from": {"from_": SECOND_NUMBER},
            "today": {"date_sent": today.date()},
            "after": {"sent_after": today - timedelta(minutes=5)},
            "before": {"sent_before": today - timedelta(days=1)},
            "tomorrow": {"date_sent": (today + timedelta(days=1)).date()},
        }
        try:
            return {
                name: [m.sid for m in await twilio_gateway.list_messages(**kwargs)]  # type: ignore[arg-type]
                for name, kwargs in queries.items()
            }
        finally:
            await twilio_gateway.aclose()

    found = asyncio.run(listing())
    assert found["to"] == [first] and found["from"] == [second]
    assert found["today"] == found["after"] == [second, first]  # newest first
    assert found["before"] == found["tomorrow"] == []


def test_it_pages_through_long_lists(simulator: SimulatorClient, twilio_gateway: TwilioGateway) -> None:
    async def many() -> list[str]:
        try:
            sids = [(await twilio_gateway.send_sms(PATIENT, CLINIC_NUMBER, f"n{i}")).sid for i in range(7)]
            listed = await twilio_gateway._async_account().messages.list_async(page_size=3)
            assert [m.sid for m in listed] == sids[::-1]
            return sids
        finally:
            await twilio_gateway.aclose()

    assert len(asyncio.run(many())) == 7


# --- error mapping from the magic numbers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("to", "from_", "code", "kind"),
    [
        ("+15005550001", CLINIC_NUMBER, 21211, ErrorKind.PERMANENT),
        ("+15005550002", CLINIC_NUMBER, 21612, ErrorKind.PERMANENT),
        ("+15005550003", CLINIC_NUMBER, 21408, ErrorKind.PERMANENT),
        ("+15005550004", CLINIC_NUMBER, 21610, ErrorKind.PERMANENT),
        ("+15005550009", CLINIC_NUMBER, 21614, ErrorKind.PERMANENT),
        (PATIENT, "+15005550007", 21606, ErrorKind.CONFIGURATION),
        (PATIENT, "+15559990000", 21606, ErrorKind.CONFIGURATION),  # not a number of this account
        (PATIENT, "+15005550008", 21611, ErrorKind.TRANSIENT),
    ],
)
def test_it_maps_the_magic_numbers_to_errors(
    twilio_gateway: TwilioGateway, to: str, from_: str, code: int, kind: ErrorKind
) -> None:
    error = twilio_error(twilio_gateway, to, from_)
    assert (error.code, error.status, error.kind) == (code, 400, kind)
    assert to not in str(error) and from_ not in str(error)


@pytest.mark.parametrize(
    ("to", "code", "status", "action"),
    [
        ("+15005553003", 30003, "undelivered", ErrorAction.RETRY_ONCE),
        ("+15005553005", 30005, "undelivered", ErrorAction.GIVE_UP),
        ("+15005553006", 30006, "undelivered", ErrorAction.SWITCH_TO_VOICE),
        ("+15005553007", 30007, "undelivered", ErrorAction.ALERT_STAFF),
        ("+15005553032", 30032, "failed", ErrorAction.ALERT_STAFF),
        ("+15005553034", 30034, "failed", ErrorAction.ALERT_STAFF),
    ],
)
def test_it_reports_delivery_failures_in_signed_status_callbacks(
    twilio_gateway: TwilioGateway,
    webhook_receiver: WebhookReceiver,
    to: str,
    code: int,
    status: str,
    action: ErrorAction,
) -> None:
    callback = webhook_receiver.answer("/status", "")
    sid = send(twilio_gateway, to=to, status_callback=callback)
    final = webhook_receiver.wait_for("/status", count=3 if status == "undelivered" else 2)[-1]
    assert final.params["MessageSid"] == sid and final.params["MessageStatus"] == status
    assert int(final.params["ErrorCode"]) == code and error_for_code(code).action is action
    assert_signed(final, webhook_receiver)


def test_it_sends_queued_sent_delivered_callbacks_signed(
    simulator: SimulatorClient, twilio_gateway: TwilioGateway, webhook_receiver: WebhookReceiver
) -> None:
    callback = webhook_receiver.answer("/twilio/status", "")
    sid = send(twilio_gateway, status_callback=callback)
    callbacks = webhook_receiver.wait_for("/twilio/status", count=3)
    assert [c.params["MessageStatus"] for c in callbacks] == ["queued", "sent", "delivered"]
    for request in callbacks:
        assert request.method == "POST" and request.params["AccountSid"] == DEFAULT_ACCOUNT_SID
        assert (request.params["MessageSid"], request.params["To"], request.params["From"]) == (
            sid,
            PATIENT,
            CLINIC_NUMBER,
        )
        assert "ErrorCode" not in request.params
        assert_signed(request, webhook_receiver)
    simulator.wait_for_message(sid, lambda m: m["status"] == "delivered" and len(m["callbacks"]) == 3)


# --- inbound texts --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_it_delivers_a_reply_to_the_sms_url_signed(
    simulator: SimulatorClient, twilio_gateway: TwilioGateway, webhook_receiver: WebhookReceiver, method: str
) -> None:
    twiml = "<?xml version='1.0'?><Response><Message>Thanks, your visit is confirmed.</Message></Response>"
    sms_url = webhook_receiver.answer("/app_confirm", twiml) + "?office=1"
    number = next(n for n in twilio_gateway.list_incoming_numbers() if n.phone_number == CLINIC_NUMBER)
    twilio_gateway.update_number_webhooks(number.sid, sms_url=sms_url, sms_method=method)

    result = simulator.reply(PATIENT, CLINIC_NUMBER, "1 👍")

    assert result["status"] == 200 and "confirmed" in result["body"]
    [request] = webhook_receiver.received("/app_confirm")
    assert request.method == method
    params = request.params if method == "POST" else {k: v for k, v in request.query if k != "office"}
    assert (params["From"], params["To"], params["Body"], params["AccountSid"]) == (
        PATIENT,
        CLINIC_NUMBER,
        "1 👍",
        DEFAULT_ACCOUNT_SID,
    )
    assert params["MessageSid"] == params["SmsSid"] == result["message_sid"] and params["NumMedia"] == "0"
    assert params["NumSegments"] == "1"
    assert_signed(request, webhook_receiver)
    [reply] = result["replies"]
    assert (reply["to"], reply["from"], reply["body"]) == (PATIENT, CLINIC_NUMBER, "Thanks, your visit is confirmed.")
    conversation = simulator.messages(to=PATIENT) + simulator.messages(from_=PATIENT)
    assert {m["direction"] for m in conversation} == {"inbound", "outbound-reply"}


def test_it_opts_a_phone_out_after_stop(simulator: SimulatorClient, twilio_gateway: TwilioGateway) -> None:
    result = simulator.reply(PATIENT, CLINIC_NUMBER, "STOP")
    assert "unsubscribed" in result["replies"][0]["body"]
    assert twilio_error(twilio_gateway).action is ErrorAction.OPT_OUT
    simulator.reply(PATIENT, CLINIC_NUMBER, "START")
    assert send(twilio_gateway).startswith("SM")


def test_it_refuses_a_reply_to_a_number_nobody_owns(simulator: SimulatorClient) -> None:
    response = simulator.http.post(
        f"{simulator.base_url}/api/reply", json={"from": PATIENT, "to": "+1999", "body": "x"}
    )
    assert response.status_code == 404


# --- calls ----------------------------------------------------------------------------------------------------


def test_it_plays_a_call_with_gather_and_digits(
    simulator: SimulatorClient, twilio_gateway: TwilioGateway, webhook_receiver: WebhookReceiver
) -> None:
    action = webhook_receiver.answer("/voice/answer", "<Response><Say>Thank you. Goodbye.</Say><Hangup/></Response>")
    url = webhook_receiver.answer(
        "/voice",
        f'<Response><Gather action="{action}" method="POST" numDigits="1">'
        "<Say>Press 1 to confirm, 2 to cancel.</Say></Gather><Say>We did not get an answer.</Say></Response>",
    )
    status = webhook_receiver.answer("/call-status", "")

    async def place() -> str:
        try:
            return (await twilio_gateway.place_call(PATIENT, CLINIC_NUMBER, url, status_callback=status)).sid
        finally:
            await twilio_gateway.aclose()

    sid = asyncio.run(place())
    simulator.answer(sid)
    [fetch] = webhook_receiver.received("/voice")
    assert fetch.method == "POST" and fetch.params["CallSid"] == sid and fetch.params["CallStatus"] == "in-progress"
    assert (fetch.params["From"], fetch.params["To"], fetch.params["Direction"]) == (
        CLINIC_NUMBER,
        PATIENT,
        "outbound-api",
    )
    assert fetch.params["AnsweredBy"] == "human"  # machine detection was asked for
    assert_signed(fetch, webhook_receiver)
    assert simulator.call(sid)["gather"]["num_digits"] == 1

    call = simulator.press(sid, "1")

    [gathered] = webhook_receiver.received("/voice/answer")
    assert gathered.params["Digits"] == "1"
    assert_signed(gathered, webhook_receiver)
    assert call["status"] == "completed"
    assert [step for step in call["transcript"] if "say" in step] == [
        {"say": "Press 1 to confirm, 2 to cancel."},
        {"say": "Thank you. Goodbye."},
    ]
    assert call["body"] == "Press 1 to confirm, 2 to cancel. Thank you. Goodbye."
    events = webhook_receiver.wait_for("/call-status", count=4)
    assert [e.params["CallStatus"] for e in events] == ["initiated", "ringing", "in-progress", "completed"]
    for event in events:
        assert_signed(event, webhook_receiver)


def test_it_ends_unanswered_calls_as_twilio_would(simulator: SimulatorClient, twilio_gateway: TwilioGateway) -> None:
    async def place(to: str) -> str:
        return (await twilio_gateway.place_call(to, CLINIC_NUMBER, "https://v.example/v")).sid

    async def both() -> list[str]:
        try:
            return [await place("+15005554001"), await place("+15005554002")]
        finally:
            await twilio_gateway.aclose()

    no_answer, busy = asyncio.run(both())
    wait_until(lambda: simulator.call(no_answer)["status"] == "no-answer" and simulator.call(busy)["status"] == "busy")

    async def listed() -> list[list[tuple[str, str]]]:
        try:
            since = datetime.now(UTC) - timedelta(minutes=5)
            return [
                [(c.sid, c.status) for c in await twilio_gateway.list_calls(to="+15005554002", started_after=since)],
                [(c.sid, c.status) for c in await twilio_gateway.list_calls(from_=CLINIC_NUMBER)],
                [(c.sid, c.status) for c in await twilio_gateway.list_calls(started_before=since)],
            ]
        finally:
            await twilio_gateway.aclose()

    assert asyncio.run(listed()) == [[(busy, "busy")], [(busy, "busy"), (no_answer, "no-answer")], []]

    async def invalid() -> str:
        try:
            return await place("+15005550001")
        finally:
            await twilio_gateway.aclose()

    with pytest.raises(TwilioError) as caught:
        asyncio.run(invalid())
    assert caught.value.code == 21217 and caught.value.is_permanent


# --- faults, trial, balance, mounting -------------------------------------------------------------------------


@pytest.mark.parametrize(("fault", "status"), [({"rate_429": 1.0}, 429), ({"rate_500": 1.0}, 500)])
def test_it_injects_errors_that_are_transient(
    simulator: SimulatorClient, twilio_gateway: TwilioGateway, fault: dict[str, float], status: int
) -> None:
    simulator.set_faults(**fault)
    error = twilio_error(twilio_gateway)
    assert error.is_transient and error.status == status and error.retry_after
    assert error.code == (20429 if status == 429 else 20500)
    with pytest.raises(TwilioError):
        twilio_gateway.fetch_account()
    simulator.set_faults()
    assert twilio_gateway.fetch_account().sid == DEFAULT_ACCOUNT_SID


def test_it_injects_timeouts_seen_as_transient(simulator: SimulatorClient) -> None:
    simulator.set_faults(rate_timeout=1.0, timeout_hang_s=5.0)
    gateway = simulator.gateway(timeout=0.5)
    error = twilio_error(gateway)
    assert error.is_transient and error.code is None
    with pytest.raises(TwilioError) as caught:
        gateway.fetch_balance()
    assert caught.value.is_transient


def test_it_caps_concurrency_with_20429(simulator: SimulatorClient, twilio_gateway: TwilioGateway) -> None:
    simulator.set_faults(max_concurrency=2, latency_ms=300)

    async def burst() -> list[object]:
        try:
            sends = [twilio_gateway.send_sms(f"+1555123{i:04d}", CLINIC_NUMBER, "x") for i in range(6)]
            return await asyncio.gather(*sends, return_exceptions=True)
        finally:
            await twilio_gateway.aclose()

    results = asyncio.run(burst())
    refused = [r for r in results if isinstance(r, TwilioError)]
    assert 1 <= len(refused) <= 4 and len(results) - len(refused) >= 2
    assert all(e.code == 20429 and e.status == 429 and e.is_transient for e in refused)


def test_it_plays_a_trial_account(simulator: SimulatorClient, twilio_gateway: TwilioGateway) -> None:
    simulator.set_account(trial=True)
    assert twilio_gateway.fetch_account().is_trial
    error = twilio_error(twilio_gateway)
    assert (error.code, error.kind) == (21608, ErrorKind.CONFIGURATION)
    simulator.reset(default_config())
    simulator.set_account(trial=True)
    verification = twilio_gateway.start_caller_id_verification(PATIENT)
    simulator.answer(str(verification.call_sid))
    simulator.press(str(verification.call_sid), verification.validation_code)
    sid = send(twilio_gateway)
    [message] = [m for m in simulator.messages(to=PATIENT) if m["sid"] == sid]
    assert message["body"].startswith("Sent from your Twilio trial account - ")


def test_it_reports_a_low_balance(simulator: SimulatorClient, twilio_gateway: TwilioGateway) -> None:
    simulator.set_account(balance="0.42")
    balance = twilio_gateway.fetch_balance()
    assert balance.amount == Decimal("0.42") and balance.currency == "USD"


def test_it_rejects_wrong_credentials(simulator: SimulatorClient) -> None:
    with pytest.raises(TwilioError) as caught:
        TwilioGateway(DEFAULT_ACCOUNT_SID, "wrong-token", base_url=simulator.base_url).fetch_account()
    assert caught.value.is_configuration and caught.value.status == 401


def test_it_works_mounted_under_simulator_in_another_app() -> None:
    app = Starlette(routes=[Mount("/simulator", create_simulator_app(default_config()))])
    with TestClient(app) as client:
        auth = (DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN)
        created = client.post(
            f"/simulator/2010-04-01/Accounts/{DEFAULT_ACCOUNT_SID}/Messages.json",
            data={"To": PATIENT, "From": CLINIC_NUMBER, "Body": "hi"},
            auth=auth,
        )
        assert created.status_code == 201 and created.json()["sid"].startswith("SM")
        assert [m["body"] for m in client.get("/simulator/api/messages").json()] == ["hi"]
        assert client.get(f"/simulator/2010-04-01/Accounts/{DEFAULT_ACCOUNT_SID}/Balance.json").status_code == 401
        page = client.get("/simulator/")
        assert page.status_code == 200 and PATIENT in page.text and "<script>" in page.text
        assert "hi" in client.get("/simulator/", params={"phone": PATIENT}).text


def test_it_serves_the_phone_page_standalone(simulator: SimulatorClient, twilio_gateway: TwilioGateway) -> None:
    send(twilio_gateway)
    page = simulator.http.get(f"{simulator.url}/simulator/", params={"phone": PATIENT})
    assert page.status_code == 200 and "Reminder: visit tomorrow" in page.text and 'id="reply"' in page.text
    assert simulator.http.get(f"{simulator.url}/", follow_redirects=True).url.path == "/simulator/"
