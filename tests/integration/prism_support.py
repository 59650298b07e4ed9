"""Whole set-up and registration flows through Stoplight Prism (tests/fixtures/prism.py), which mocks Twilio's
OpenAPI specs: every request is judged by the spec, and Prism's stateless answers are steered by what the account
would hold.

- `refusal`: why the spec refuses a request. Prism's own verdict, except for Prism 5's two known defects with the
  Messaging spec's array form fields (KNOWN_PRISM_DEFECTS), where the form is checked against the spec's schema:
  an array property with an `encoding` entry (MessageSamples, OptInImageUrls...) is refused when its raw value
  holds a reserved character, and `+`, which form encoding makes of every space, is one; an array property without
  one (UseCaseCategories) is never read as an array from its repeated keys.
- `RequestCheck`: judges every request any SDK client sends during a test (the flow may build its own gateway,
  as the API key probe does).
- `ConformingGateway`: a TwilioGateway on Prism whose operations, its `registration`'s too, fail at once on a
  refused request, are recorded by name, and answer what `PrismAccount` (prism_account.py) makes of Prism's
  example answers.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
from twilio.http.http_client import TwilioHttpClient

from clinic_reminders.gateways import BundleKind, TwilioError, TwilioGateway
from tests.fixtures.prism import ACCOUNT_SID, SPEC_DIR, refused
from tests.integration.prism_account import PrismAccount
from tests.integration.test_conformance import SpecValidator, last_response

KNOWN_PRISM_DEFECTS = (
    re.compile(r"^Reserved characters used in request body$"),
    re.compile(r"^Request body property \w+ must be array"),
)
TOKEN = "any-token-of-prism"


@functools.cache
def messaging_spec() -> SpecValidator:
    return SpecValidator({"messaging": SPEC_DIR / "twilio_messaging_v1.json"})


def _form_schema(spec: SpecValidator, url: str, method: str) -> tuple[str, dict[str, Any]]:
    path = urlsplit(url).path
    for template, operations in spec.paths.items():
        if re.fullmatch(re.sub(r"\{\w+\}", "[^/]+", template), path) and method.lower() in operations:
            body = operations[method.lower()]["requestBody"]["content"]["application/x-www-form-urlencoded"]
            return template, body["schema"]
    raise AssertionError(f"no operation in the Messaging spec for {method} {path}")


def _typed(values: Any, schema: dict[str, Any], spec: SpecValidator) -> Any:
    """A form value as JSON: repeated keys to an array, true/false to booleans."""
    if "$ref" in schema:
        schema = spec.registry.resolver().lookup(schema["$ref"]).contents
    items = values if isinstance(values, list) else [values]
    if schema.get("type") == "array" or "array" in schema.get("type", []):
        return [str(v) for v in items]
    if schema.get("type") == "boolean":
        return str(items[-1]).lower() == "true"
    return str(items[-1])


def refusal(request: Any, response: Any, operation: str, spec: SpecValidator) -> str | None:
    """Why the spec refuses the request (the SDK's Request and Response), or None when it accepts it."""
    if response.status_code != 422:
        return refused(response, operation)
    reasons = [v["message"] for v in json.loads(response.text).get("validation", [])]
    if not reasons or not all(any(d.match(r) for d in KNOWN_PRISM_DEFECTS) for r in reasons):
        return refused(response, operation)
    template, schema = _form_schema(spec, request.url, request.method)
    properties = schema["properties"]
    form = {k: _typed(v, properties.get(k, {}), spec) for k, v in (request.data or {}).items() if v is not None}
    unknown = sorted(set(form) - set(properties))
    errors = [e.message for e in jsonschema.Draft202012Validator(schema, registry=spec.registry).iter_errors(form)]
    if unknown or errors:
        return f"{operation}: {template} form breaks the spec: {unknown or errors}"
    return None


def assert_form_conforms(gateway: TwilioGateway, operation: str, spec: SpecValidator) -> None:
    """The gateway's last request: accepted by Prism, or refused for known defects only with a form the spec's
    schema accepts."""
    response = last_response(gateway, async_client=False)
    assert response is not None, f"{operation}: no HTTP request was made"
    request = gateway._client.http_client._test_only_last_request
    found = refusal(request, response, operation, spec)
    assert found is None, found


class RequestCheck:
    """Judges every request the SDK's sync clients send while installed; `refusals` lists what the spec refused."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.refusals: list[str] = []
        send = TwilioHttpClient.request

        def request(client: TwilioHttpClient, *args: Any, **kwargs: Any) -> Any:
            response = send(client, *args, **kwargs)
            sent = client._test_only_last_request
            found = refusal(sent, response, f"{sent.method} {urlsplit(sent.url).path}", messaging_spec())
            if found:
                self.refusals.append(found)
            return response

        monkeypatch.setattr(TwilioHttpClient, "request", request)

    def assert_none(self, operation: str) -> None:
        if self.refusals:
            raise AssertionError(f"{operation}: " + "; ".join(self.refusals))


# The Trust Hub operations of both bundles share a method; recorded under their names in the conformance tests.
BUNDLE_OPERATIONS = {
    "list_bundles": "list_{}s",
    "create_bundle": "create_{}",
    "fetch_bundle": "fetch_{}",
    "submit_bundle": "submit_{}",
    "assign": "assign_to_{}",
    "list_assignments": "list_{}_assignments",
    "evaluate": "evaluate_{}",
}


def operation_name(method: str, args: tuple[Any, ...]) -> str:
    if method in BUNDLE_OPERATIONS and args and isinstance(args[0], BundleKind):
        return BUNDLE_OPERATIONS[method].format(args[0].value.removesuffix("s"))
    return method


class _Operations:
    """`target`'s attributes, its methods run through `flow.call`."""

    def __init__(self, target: Any, flow: ConformingGateway) -> None:
        self._target = target
        self._flow = flow

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if not callable(attribute) or name in LOCAL:
            return attribute
        return functools.partial(self._flow.call, name, attribute)


# Gateway methods that make no request (a gateway for the same account signed in with an API key): passed through.
LOCAL = frozenset({"with_api_key"})


class ConformingGateway(_Operations):
    """A TwilioGateway on Prism for a flow under test (pass it where a TwilioGateway goes). Each operation fails at
    once when the spec refused a request, is appended to `calls`, and answers what `account` makes of Prism's
    answer. A request Prism refused only for its known defects raises no error: `account` answers alone."""

    def __init__(self, prism_urls: Mapping[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__(TwilioGateway(ACCOUNT_SID, TOKEN, domain_urls=prism_urls), self)
        self.check = RequestCheck(monkeypatch)
        self.account = PrismAccount()
        self.calls: list[str] = []
        self.registration = _Operations(self._target.registration, self)

    def call(self, name: str, operation: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        called = operation_name(name, args)
        error: TwilioError | None = None
        try:
            answer = operation(*args, **kwargs)
        except TwilioError as exc:
            answer, error = None, exc
        self.check.assert_none(called)
        if error is not None and error.status != 422:  # not Prism's verdict on the request: the flow's to handle
            raise error
        self.calls.append(called)
        steer = getattr(self.account, name, None)
        return steer(answer, *args, **kwargs) if steer is not None else answer
