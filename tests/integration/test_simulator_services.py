"""Messaging Services in the simulator, through the official twilio SDK: the sender pool, sending with
`MessagingServiceSid`, inbound routing, and the registered office a configuration can seed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from click.testing import CliRunner

from clinic_reminders.simulator import AccountConfig, NumberConfig, SimulatorConfig
from clinic_reminders.simulator.cli import simulator_command
from clinic_reminders.simulator.seeding import registration_sids
from tests.fixtures.simulator import (
    CLINIC_NUMBER,
    PATIENT,
    SECOND_NUMBER,
    SimulatorClient,
    WebhookReceiver,
    default_config,
)
from tests.integration.test_simulator_registration import LOCAL, TOLL_FREE, final_status, number_sid, rest_error

OTHER_PATIENT = "+15551230002"


def service_with(client: Any, *phones: str, **settings: Any) -> Any:
    service = client.messaging.v1.services.create(friendly_name="Reminders", **settings)
    for phone in phones:
        client.messaging.v1.services(service.sid).phone_numbers.create(phone_number_sid=number_sid(client, phone))
    return service


def test_a_number_belongs_to_one_service_at_a_time(simulator: SimulatorClient) -> None:
    client = simulator.sdk()
    first = client.messaging.v1.services.create(friendly_name="First")
    second = client.messaging.v1.services.create(friendly_name="Second")
    sid = number_sid(client, SECOND_NUMBER)
    added = client.messaging.v1.services(first.sid).phone_numbers.create(phone_number_sid=sid)
    assert (added.sid, added.service_sid, added.phone_number) == (sid, first.sid, SECOND_NUMBER)
    again = rest_error(lambda: client.messaging.v1.services(first.sid).phone_numbers.create(phone_number_sid=sid))
    assert (again.status, again.code) == (409, 80104)
    taken = rest_error(lambda: client.messaging.v1.services(second.sid).phone_numbers.create(phone_number_sid=sid))
    assert (taken.status, taken.code) == (400, 21712)
    unknown = rest_error(
        lambda: client.messaging.v1.services(second.sid).phone_numbers.create(phone_number_sid="PN" + "0" * 32)
    )
    assert unknown.code == 21421
    assert client.messaging.v1.services(first.sid).phone_numbers(sid).delete() is True
    client.messaging.v1.services(second.sid).phone_numbers.create(phone_number_sid=sid)
    assert [n.sid for n in client.messaging.v1.services(second.sid).phone_numbers.list()] == [sid]
    assert client.messaging.v1.services(first.sid).phone_numbers.list() == []
    assert client.messaging.v1.services(first.sid).delete() is True
    assert [s.sid for s in client.messaging.v1.services.list()] == [second.sid]


def test_a_service_keeps_each_recipients_sender_when_sticky(simulator: SimulatorClient) -> None:
    client = simulator.sdk()
    service = service_with(client, CLINIC_NUMBER, SECOND_NUMBER)

    def sender(to: str) -> str:
        message = client.messages.create(to=to, messaging_service_sid=service.sid, body="Reminder")
        assert message.messaging_service_sid == service.sid
        return str(message.from_)

    first = sender(PATIENT)
    assert sender(PATIENT) == first and sender(OTHER_PATIENT) != first
    client.messaging.v1.services(service.sid).update(sticky_sender=False)
    assert sender(PATIENT) != sender(PATIENT)  # in turn through the pool


def test_a_from_given_with_the_service_must_be_one_of_its_senders(simulator: SimulatorClient) -> None:
    client = simulator.sdk()
    service = service_with(client, SECOND_NUMBER)
    chosen = client.messages.create(to=PATIENT, messaging_service_sid=service.sid, from_=SECOND_NUMBER, body="Hi")
    assert chosen.from_ == SECOND_NUMBER
    outside = rest_error(
        lambda: client.messages.create(to=PATIENT, messaging_service_sid=service.sid, from_=CLINIC_NUMBER, body="Hi")
    )
    assert outside.code == 21711
    unknown = rest_error(lambda: client.messages.create(to=PATIENT, messaging_service_sid="MG" + "0" * 32, body="Hi"))
    assert unknown.code == 21701
    empty = client.messaging.v1.services.create(friendly_name="Empty")
    assert (
        rest_error(lambda: client.messages.create(to=PATIENT, messaging_service_sid=empty.sid, body="Hi")).code == 21704
    )


def test_a_message_without_callback_or_validity_takes_the_services(
    simulator: SimulatorClient, webhook_receiver: WebhookReceiver
) -> None:
    client = simulator.sdk()
    callback = webhook_receiver.answer("/service-status", "")
    service = service_with(client, SECOND_NUMBER, status_callback=callback, validity_period=600)
    sent = client.messages.create(to=PATIENT, messaging_service_sid=service.sid, body="Reminder")
    statuses = webhook_receiver.wait_for("/service-status", count=3)
    assert [s.params["MessageStatus"] for s in statuses] == ["queued", "sent", "delivered"]
    assert {s.params["MessagingServiceSid"] for s in statuses} == {service.sid}
    [seen] = [m for m in simulator.messages(to=PATIENT) if m["sid"] == sent.sid]
    assert (seen["validity_period"], seen["messaging_service_sid"]) == (600, service.sid)
    own = client.messages.create(to=PATIENT, messaging_service_sid=service.sid, body="Hi", validity_period=60)
    assert [m["validity_period"] for m in simulator.messages(to=PATIENT) if m["sid"] == own.sid] == [60]


@pytest.mark.parametrize("defer_to_number", [False, True])
def test_inbound_texts_go_to_the_services_url_unless_it_defers_to_the_number(
    simulator: SimulatorClient, webhook_receiver: WebhookReceiver, defer_to_number: bool
) -> None:
    client = simulator.sdk()
    number = client.incoming_phone_numbers(number_sid(client, SECOND_NUMBER))
    number.update(sms_url=webhook_receiver.answer("/number", "<Response/>"), sms_method="POST")
    service = service_with(
        client,
        SECOND_NUMBER,
        inbound_request_url=webhook_receiver.answer("/service", "<Response/>"),
        inbound_method="GET",
        use_inbound_webhook_on_number=defer_to_number,
    )
    simulator.reply(PATIENT, SECOND_NUMBER, "1")
    [request] = webhook_receiver.received("/number" if defer_to_number else "/service")
    assert request.method == ("POST" if defer_to_number else "GET")
    assert (request.params["MessagingServiceSid"], request.params["Body"]) == (service.sid, "1")
    assert webhook_receiver.received("/service" if defer_to_number else "/number") == []


def test_a_registered_office_is_seeded_under_stable_sids(
    simulator: SimulatorClient, webhook_receiver: WebhookReceiver
) -> None:
    sms_url = webhook_receiver.answer("/app_confirm", "<Response/>")
    numbers = [NumberConfig(n, sms_url=sms_url, sms_method="GET", registered=False) for n in (LOCAL, TOLL_FREE)]
    account = AccountConfig(numbers=numbers, registration="approved")
    simulator.reset(replace(default_config(), accounts=[account], reviews_approve=False))
    client = simulator.sdk()
    sids = registration_sids(simulator.account_sid)
    assert registration_sids(simulator.account_sid) == sids  # the same every time
    assert client.trusthub.v1.customer_profiles(sids.customer_profile_sid).fetch().status == "twilio-approved"
    assert client.trusthub.v1.trust_products(sids.trust_product_sid).fetch().status == "twilio-approved"
    assert client.messaging.v1.brand_registrations(sids.brand_sid).fetch().status == "APPROVED"
    service = client.messaging.v1.services(sids.messaging_service_sid).fetch()
    assert (service.inbound_request_url, service.inbound_method, service.us_app_to_person_registered) == (
        sms_url,
        "GET",
        True,
    )
    pool = {n.phone_number for n in client.messaging.v1.services(service.sid).phone_numbers.list()}
    assert pool == {LOCAL, TOLL_FREE}
    campaign = client.messaging.v1.services(service.sid).us_app_to_person(sids.campaign_sid).fetch()
    assert campaign.campaign_status == "VERIFIED"
    verification = client.messaging.v1.tollfree_verifications(sids.tollfree_verification_sid(TOLL_FREE)).fetch()
    assert (verification.status, verification.tollfree_phone_number) == ("TWILIO_APPROVED", TOLL_FREE)
    for sender in (LOCAL, TOLL_FREE):
        sent = client.messages.create(to=PATIENT, from_=sender, body="Reminder")
        assert final_status(simulator, sent.sid)["status"] == "delivered"
    simulator.reply(PATIENT, LOCAL, "1")
    [request] = webhook_receiver.received("/app_confirm")
    assert request.method == "GET" and request.params["MessagingServiceSid"] == service.sid


def test_the_configuration_takes_the_registration_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    served: list[SimulatorConfig] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_: served.append(app.simulator.config))
    options = ["--registration", "approved", "--numbers-unregistered", "--review-delay-s", "7", "--no-reviews-approve"]
    result = CliRunner().invoke(simulator_command, options, env={"TWILIO_AUTH_TOKEN_FILE": None})
    assert result.exit_code == 0, result.output
    [config] = served
    assert (config.review_delay_s, config.reviews_approve, config.accounts[0].registration) == (7.0, False, "approved")
    assert [n.registered for n in config.accounts[0].numbers] == [False]
    data = config.to_dict()
    assert SimulatorConfig.from_dict(data) == config
    with pytest.raises(ValueError, match="registration must be one of"):
        SimulatorConfig.from_dict({"accounts": [{"registration": "pending"}]})
    file = tmp_path / "simulator.json"
    file.write_text('{"review_delay_s": 1.5, "accounts": [{"registration": "primary"}]}')
    result = CliRunner().invoke(simulator_command, ["--config", str(file)], env={"TWILIO_AUTH_TOKEN_FILE": None})
    assert result.exit_code == 0, result.output
    assert (served[-1].review_delay_s, served[-1].accounts[0].registration) == (1.5, "primary")


def test_the_inspection_api_refuses_decisions_it_cannot_take(simulator: SimulatorClient) -> None:
    simulator.reset(replace(default_config(), accounts=[AccountConfig(registration="primary")]))
    [primary] = simulator.registrations(kind="customer_profile")
    assert simulator.registrations(kind="brand") == []
    url = f"{simulator.base_url}/api/registrations"
    assert simulator.http.post(f"{url}/BU{'0' * 32}/approve").status_code == 404
    assert simulator.http.post(f"{url}/{primary['sid']}/reject", json={"code": "x"}).status_code == 400
    assert simulator.http.post(f"{url}/{primary['sid']}/shelve").status_code == 404
    assert simulator.registration(primary["sid"])["status"] == "twilio-approved"  # nothing changed
