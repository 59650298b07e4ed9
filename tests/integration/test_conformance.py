"""Conformance with Twilio's OpenAPI spec (shared/twilio-oai/), both ways.

1. What we send: every gateway operation goes to Stoplight Prism mocking the spec; Prism answers 422 with the
   reason when a request breaks the spec, and any 4xx fails the test with that reason.
2. What the simulator answers: its JSON is validated against the same spec's response schemas, so the simulator
   cannot drift from Twilio.

Prism runs without `--errors`: it still rejects invalid requests (422), but with `--errors` it also fails its own
example responses against Twilio's schema (the defect below) and turns valid calls into 500s.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from clinic_reminders.gateways import TwilioError, TwilioGateway
from tests.fixtures.prism import ACCOUNT_SID, NUMBER_SID, SPEC_DIR, SPECS, assert_accepted
from tests.fixtures.simulator import CLINIC_NUMBER, PATIENT, SimulatorClient


def last_response(gateway: TwilioGateway, *, async_client: bool) -> Any:
    """The SDK's clients keep the last HTTP answer as `_test_only_last_response`; the gateway's aiohttp one too."""
    client = gateway._async[1] if async_client and gateway._async else gateway._client
    return client.http_client._test_only_last_response


@pytest.fixture
def prism_gateway(prism_urls: dict[str, str]) -> TwilioGateway:
    return TwilioGateway(ACCOUNT_SID, "any-token", domain_urls=prism_urls)


def conform(gateway: TwilioGateway, operation: str, call: Callable[[TwilioGateway], Any]) -> Any:
    try:
        result = call(gateway)
    except TwilioError:
        result = None
    assert_accepted(last_response(gateway, async_client=False), operation)
    return result


SETUP_OPERATIONS: dict[str, Callable[[TwilioGateway], Any]] = {
    "fetch_account": lambda g: g.fetch_account(),
    "fetch_balance": lambda g: g.fetch_balance(),
    "list_incoming_numbers": lambda g: g.list_incoming_numbers(limit=1),
    "update_number_webhooks": lambda g: g.update_number_webhooks(
        NUMBER_SID, sms_url="https://clinic.example.com/app_confirm", sms_method="GET", voice_url="https://c.example/v"
    ),
    "search_available_numbers": lambda g: g.search_available_numbers(area_code=415, in_locality="Oakland", limit=1),
    "buy_number": lambda g: g.buy_number(CLINIC_NUMBER, sms_url="https://c.example/sms", sms_method="GET"),
    "list_caller_ids": lambda g: g.list_caller_ids(limit=1),
    "start_caller_id_verification": lambda g: g.start_caller_id_verification(PATIENT, friendly_name="Front desk"),
    "create_api_key": lambda g: g.create_api_key("reminders"),
    "create_video_room": lambda g: g.create_video_room(
        "visit-1",
        max_participants=2,
        empty_room_timeout=5,
        unused_room_timeout=5,
        status_callback="https://c.example/v",
    ),
    "list_alerts": lambda g: g.list_alerts(start_date=datetime.now(UTC) - timedelta(days=1), limit=1),
    "lookup_line_type": lambda g: g.lookup_line_type(PATIENT),
}


@pytest.mark.prism
@pytest.mark.parametrize("operation", list(SETUP_OPERATIONS))
def test_it_sends_setup_operations_as_the_spec_says(prism_gateway: TwilioGateway, operation: str) -> None:
    assert conform(prism_gateway, operation, SETUP_OPERATIONS[operation]) is not None


@pytest.mark.prism
def test_it_sends_dispatch_operations_as_the_spec_says(prism_gateway: TwilioGateway) -> None:
    async def run() -> None:
        now = datetime.now(UTC)
        calls: dict[str, Callable[[], Any]] = {
            "send_sms": lambda: prism_gateway.send_sms(
                PATIENT, CLINIC_NUMBER, "Reminder 😀", status_callback="https://c.example/s", validity_period=3600
            ),
            "place_call": lambda: prism_gateway.place_call(
                PATIENT, CLINIC_NUMBER, "https://c.example/voice", status_callback="https://c.example/s"
            ),
            "list_calls": lambda: prism_gateway.list_calls(
                to=PATIENT, from_=CLINIC_NUMBER, started_after=now - timedelta(hours=1), started_before=now, limit=1
            ),
            "list_messages": lambda: prism_gateway.list_messages(
                to=PATIENT,
                from_=CLINIC_NUMBER,
                date_sent=now.date(),
                sent_after=now - timedelta(hours=1),
                sent_before=now,
                limit=2,
            ),
        }
        try:
            for operation, call in calls.items():
                try:
                    result = await call()
                except TwilioError:
                    result = None
                assert_accepted(last_response(prism_gateway, async_client=True), operation)
                assert result is not None
        finally:
            await prism_gateway.aclose()

    asyncio.run(run())


@pytest.mark.prism
def test_it_would_fail_on_a_request_that_breaks_the_spec(
    prism_gateway: TwilioGateway, prism_urls: dict[str, str]
) -> None:
    """Messages.create without `To`, through the SDK's raw request API: Prism refuses it, so the check can fail."""
    url = f"{prism_urls['api']}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    response = prism_gateway._client.request("POST", url, data={"From": CLINIC_NUMBER, "Body": "no recipient"})
    with pytest.raises(AssertionError, match="required property 'To'"):
        assert_accepted(response, "Messages.create without To")
    with pytest.raises(TwilioError) as caught:  # the gateway sees such a refusal as a permanent error
        TwilioGateway("AC-not-a-sid", "any-token", domain_urls=prism_urls).fetch_balance()
    assert caught.value.status == 422 and caught.value.is_permanent


# --- the simulator's answers against the spec's response schemas ------------------------------------------------

KNOWN_SPEC_DEFECT = (
    "Twilio's spec declares the page links of 2010-04-01 list responses (uri, first_page_uri, next_page_uri, "
    "previous_page_uri) as format 'uri', yet Twilio answers with paths relative to https://api.twilio.com"
)
# A second defect of the same kind, found by this test: Lookup v2's hand-written spec declares its data packages
# (caller_name, sim_swap, ...) and their error_code as non-nullable, yet Twilio answers null for every package
# not requested, as its own examples in the same file show. Tolerated only on that path and only for null.
KNOWN_LOOKUP_DEFECT = "Lookup v2 answers null for data packages not requested (and for error_code) despite the spec"
LOOKUP_TEMPLATE = "/v2/PhoneNumbers/{PhoneNumber}"
RELATIVE_PAGE_LINKS = frozenset({"uri", "first_page_uri", "next_page_uri", "previous_page_uri"})
FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("uri")
def _absolute_uri(value: object) -> bool:
    return not isinstance(value, str) or bool(urlsplit(value).scheme and urlsplit(value).netloc)


@FORMATS.checks("date-time", raises=ValueError)
def _iso_datetime(value: object) -> bool:
    return not isinstance(value, str) or bool(datetime.fromisoformat(value.replace("Z", "+00:00")))


@FORMATS.checks("date-time-rfc-2822", raises=(TypeError, ValueError))
def _rfc2822(value: object) -> bool:
    return not isinstance(value, str) or bool(parsedate_to_datetime(value))


@FORMATS.checks("phone-number")
def _phone(value: object) -> bool:
    return not isinstance(value, str) or bool(re.fullmatch(r"\+[1-9]\d{6,14}|[a-z]+:.+", value))


@FORMATS.checks("http-method")
def _method(value: object) -> bool:
    return not isinstance(value, str) or value in ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD")


def _json_schema(node: Any, base: str) -> Any:
    """OpenAPI 3.0 -> JSON Schema: `nullable` becomes a null type, local $refs point into the spec resource."""
    if isinstance(node, list):
        return [_json_schema(item, base) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _json_schema(value, base) for key, value in node.items()}
    if isinstance(out.get("$ref"), str) and out["$ref"].startswith("#"):
        out["$ref"] = base + out["$ref"]
    if node.get("nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        if "$ref" in out:
            out = {"anyOf": [{"$ref": out.pop("$ref")}, {"type": "null"}], **out}
    return out


class SpecValidator:
    """Validates JSON answers against the response schema of (path template, method, status) in Twilio's spec."""

    def __init__(self, files: dict[str, Path]) -> None:
        self.paths: dict[str, dict[str, Any]] = {}
        registry: Registry[Any] = Registry()
        for domain, path in files.items():
            base = f"urn:twilio:{domain}"
            spec = _json_schema(json.loads(path.read_text()), base)
            registry = registry.with_resource(base, Resource.from_contents(spec, default_specification=DRAFT202012))
            self.paths.update(spec["paths"])
        self.registry = registry

    def problems(self, template: str, method: str, status: int, instance: Any, *, complete: bool = True) -> list[str]:
        """Schema violations, less the known defect; with `complete`, also every declared field left out."""
        responses = self.paths[template][method.lower()]["responses"]
        schema = responses[str(status)]["content"]["application/json"]["schema"]
        validator = jsonschema.Draft202012Validator(schema, registry=self.registry, format_checker=FORMATS)
        found = [
            f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
            for error in validator.iter_errors(instance)
            if not _known_defect(error) and not (template == LOOKUP_TEMPLATE and _null_package(error))
        ]
        if complete:
            found += self._missing(schema, instance)
        return found

    def _missing(self, schema: dict[str, Any], instance: Any) -> list[str]:
        """Twilio sends every field its schema declares (null when empty); so must the simulator."""
        if not isinstance(instance, dict):
            return []
        resolver = self.registry.resolver()
        if "$ref" in schema:
            schema = resolver.lookup(schema["$ref"]).contents
        properties = schema.get("properties", {})
        missing = [f"missing field {name!r}" for name in properties if name not in instance]
        for name, value in instance.items():
            items = properties.get(name, {}).get("items", {})
            if isinstance(value, list) and value and "$ref" in items:
                missing += [f"{name}[0]: {m}" for m in self._missing(items, value[0])]
        return missing


def _null_package(error: jsonschema.ValidationError) -> bool:
    """KNOWN_LOOKUP_DEFECT: null where Lookup v2's spec says object or integer."""
    return error.validator == "type" and error.instance is None and error.validator_value in ("object", "integer")


def _known_defect(error: jsonschema.ValidationError) -> bool:
    """Exactly KNOWN_SPEC_DEFECT: a relative `/2010-04-01/...` page link where the spec says format uri."""
    field = error.absolute_path[-1] if error.absolute_path else None
    return (
        error.validator == "format"
        and error.validator_value == "uri"
        and field in RELATIVE_PAGE_LINKS
        and isinstance(error.instance, str)
        and error.instance.startswith("/2010-04-01/")
    )


@pytest.fixture(scope="module")
def spec_validator() -> SpecValidator:
    return SpecValidator({domain: SPEC_DIR / name for domain, name in SPECS.items()})


def test_the_simulators_responses_match_the_spec(simulator: SimulatorClient, spec_validator: SpecValidator) -> None:
    sid = simulator.account_sid
    api = f"/2010-04-01/Accounts/{sid}"
    http = httpx.Client(base_url=simulator.base_url, auth=(sid, simulator.auth_token), timeout=30)

    def check(method: str, path: str, template: str, status: int, data: dict[str, str] | None = None) -> Any:
        response = http.request(method, path, data=data)
        assert response.status_code == status, response.text
        problems = spec_validator.problems(template, method, status, response.json())
        assert problems == [], f"{method} {template}: {problems}"
        return response.json()

    message = check(
        "POST",
        f"{api}/Messages.json",
        "/2010-04-01/Accounts/{AccountSid}/Messages.json",
        201,
        {"To": PATIENT, "From": CLINIC_NUMBER, "Body": "hi", "StatusCallback": "http://127.0.0.1:9/s"},
    )
    check(
        "GET",
        f"{api}/Messages.json?To=%2B15551230001&PageSize=1",
        "/2010-04-01/Accounts/{AccountSid}/Messages.json",
        200,
    )
    check("GET", f"{api}/Messages/{message['sid']}.json", "/2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json", 200)
    call = check(
        "POST",
        f"{api}/Calls.json",
        "/2010-04-01/Accounts/{AccountSid}/Calls.json",
        201,
        {"To": PATIENT, "From": CLINIC_NUMBER, "Url": "http://127.0.0.1:9/voice"},
    )
    check("GET", f"{api}/Calls.json", "/2010-04-01/Accounts/{AccountSid}/Calls.json", 200)
    simulator.hangup(call["sid"])
    check("GET", f"{api}/Calls/{call['sid']}.json", "/2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json", 200)
    check("GET", f"{api}.json", "/2010-04-01/Accounts/{Sid}.json", 200)
    check("GET", f"{api}/Balance.json", "/2010-04-01/Accounts/{AccountSid}/Balance.json", 200)
    numbers = check(
        "GET", f"{api}/IncomingPhoneNumbers.json", "/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json", 200
    )
    number_sid = numbers["incoming_phone_numbers"][0]["sid"]
    check(
        "POST",
        f"{api}/IncomingPhoneNumbers/{number_sid}.json",
        "/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers/{Sid}.json",
        200,
        {"SmsUrl": "https://clinic.example.com/app_confirm", "SmsMethod": "GET"},
    )
    check(
        "GET",
        f"{api}/AvailablePhoneNumbers/US/Local.json?AreaCode=212",
        "/2010-04-01/Accounts/{AccountSid}/AvailablePhoneNumbers/{CountryCode}/Local.json",
        200,
    )
    check(
        "POST",
        f"{api}/IncomingPhoneNumbers.json",
        "/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json",
        201,
        {"AreaCode": "212"},
    )
    check(
        "POST",
        f"{api}/OutgoingCallerIds.json",
        "/2010-04-01/Accounts/{AccountSid}/OutgoingCallerIds.json",
        200,
        {"PhoneNumber": "+15557770002"},
    )
    check("GET", f"{api}/OutgoingCallerIds.json", "/2010-04-01/Accounts/{AccountSid}/OutgoingCallerIds.json", 200)
    check("POST", f"{api}/Keys.json", "/2010-04-01/Accounts/{AccountSid}/Keys.json", 201, {"FriendlyName": "k"})
    room = check("POST", "/v1/Rooms", "/v1/Rooms", 201, {"UniqueName": "visit-9", "Type": "group"})
    check("GET", "/v1/Rooms?Status=in-progress", "/v1/Rooms", 200)
    check("GET", f"/v1/Rooms/{room['sid']}", "/v1/Rooms/{Sid}", 200)
    alerts = check("GET", "/v1/Alerts", "/v1/Alerts", 200)
    assert alerts["alerts"], "the failed status callback above should have left an alert"
    check("GET", f"/v1/Alerts/{alerts['alerts'][0]['sid']}", "/v1/Alerts/{Sid}", 200)
    check("GET", "/v2/PhoneNumbers/+15005553006?Fields=line_type_intelligence", "/v2/PhoneNumbers/{PhoneNumber}", 200)


def test_the_schema_check_tolerates_exactly_the_known_defect(
    simulator: SimulatorClient, spec_validator: SpecValidator
) -> None:
    """Relative page URIs pass (Twilio's own behaviour, KNOWN_SPEC_DEFECT); anything else wrong does not."""
    assert "first_page_uri" in KNOWN_SPEC_DEFECT
    template = "/2010-04-01/Accounts/{AccountSid}/Messages.json"
    page = {"messages": [], "uri": "/2010-04-01/x.json", "first_page_uri": "/2010-04-01/x.json", "page": 0}
    assert spec_validator.problems(template, "GET", 200, page, complete=False) == []
    broken = [
        {**page, "page": "zero"},
        {**page, "messages": [{"status": "teleported"}]},
        {**page, "messages": [{"date_created": "yesterday"}]},
    ]
    for instance in broken:
        assert spec_validator.problems(template, "GET", 200, instance, complete=False) != []
    lookup = {"caller_name": None, "valid": True}
    assert spec_validator.problems(LOOKUP_TEMPLATE, "GET", 200, lookup, complete=False) == []
    assert spec_validator.problems(LOOKUP_TEMPLATE, "GET", 200, {"valid": None}, complete=False) != []
    room = {"url": "/v1/Rooms/RM1", "type": "group"}  # a relative URL where the spec's defect does not apply
    assert spec_validator.problems("/v1/Rooms/{Sid}", "GET", 200, room, complete=False) != []
    assert spec_validator.problems("/v1/Rooms/{Sid}", "GET", 200, {"type": "group"}) != []  # incomplete
