"""Webhook signatures: twilio-python's published vectors, the public-URL rebuild, and the simulator's signing."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from clinic_reminders.gateways.signatures import (
    MultiParams,
    WebhookSignatureValidator,
    compute_signature,
    path_with_query,
)

TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
SIGNATURE_WITH_PORT = "kvajT1Ptam85bY51eRf/AJRuM3w="


def test_it_computes_the_published_vectors() -> None:
    assert compute_signature(TOKEN, URL, PARAMS) == SIGNATURE
    assert compute_signature(TOKEN, "https://mycompany.com:443/myapp.php?foo=1&bar=2", PARAMS) == SIGNATURE_WITH_PORT


@pytest.mark.parametrize("public_url", ["https://mycompany.com", "https://mycompany.com:443", "https://mycompany.com/"])
@pytest.mark.parametrize("signature", [SIGNATURE, SIGNATURE_WITH_PORT])
def test_it_accepts_twilio_signing_with_or_without_the_default_port(public_url: str, signature: str) -> None:
    validator = WebhookSignatureValidator(TOKEN, public_url)
    assert validator.is_valid("/myapp.php?foo=1&bar=2", PARAMS, signature)


@pytest.mark.parametrize(
    ("target", "params", "token"),
    [
        ("/myapp.php?foo=1&bar=3", PARAMS, TOKEN),  # another query
        ("/other.php?foo=1&bar=2", PARAMS, TOKEN),  # another path
        ("/myapp.php?foo=1&bar=2", {**PARAMS, "Digits": "1235"}, TOKEN),  # a changed parameter
        ("/myapp.php?foo=1&bar=2", {**PARAMS, "Extra": "x"}, TOKEN),  # a parameter added on the way
        ("/myapp.php?foo=1&bar=2", PARAMS, "54321"),  # another account's token
    ],
)
def test_it_rejects_anything_changed(target: str, params: dict[str, str], token: str) -> None:
    assert not WebhookSignatureValidator(token, "https://mycompany.com").is_valid(target, params, SIGNATURE)


def test_it_rebuilds_the_url_from_the_public_url_not_from_what_the_server_saw() -> None:
    # Behind a TLS terminator the app sees http://10.0.0.5:8000/...; Twilio signed the public https URL.
    validator = WebhookSignatureValidator(TOKEN, "https://clinic.example.com:8080")
    signature = compute_signature(TOKEN, "https://clinic.example.com:8080/app_confirm", {"Body": "1"})
    assert validator.is_valid("/app_confirm", {"Body": "1"}, signature)
    assert validator.url_for("/app_confirm") == "https://clinic.example.com:8080/app_confirm"
    assert not WebhookSignatureValidator(TOKEN, "http://10.0.0.5:8000").is_valid(
        "/app_confirm", {"Body": "1"}, signature
    )


def test_it_rejects_a_missing_signature() -> None:
    validator = WebhookSignatureValidator(TOKEN, "https://mycompany.com")
    assert not validator.is_valid("/myapp.php?foo=1&bar=2", PARAMS, None)
    assert not validator.is_valid("/myapp.php?foo=1&bar=2", PARAMS, "")


def test_it_validates_a_get_whose_parameters_are_in_the_query() -> None:
    query = urlencode({"From": "+15551230001", "Body": "1 yes 👍", "MessageSid": "SM" + "0" * 32})
    url = f"https://clinic.example.com:8080/app_confirm?{query}"
    signature = compute_signature(TOKEN, url)
    validator = WebhookSignatureValidator(TOKEN, "https://clinic.example.com:8080")
    assert validator.is_valid(path_with_query(b"/app_confirm", query.encode()), None, signature)
    assert not validator.is_valid(
        path_with_query(b"/app_confirm", query.replace("yes", "no").encode()), None, signature
    )


def test_it_signs_repeated_parameters_like_the_sdk() -> None:
    pairs = [("StatusCallbackEvent", "ringing"), ("StatusCallbackEvent", "answered"), ("To", "+15551230001")]
    signature = compute_signature(TOKEN, "https://x.example/cb", pairs)
    validator = WebhookSignatureValidator(TOKEN, "https://x.example")
    assert validator.is_valid("/cb", pairs, signature)
    assert validator.is_valid("/cb", MultiParams.of(list(reversed(pairs))), signature)
    assert not validator.is_valid("/cb", pairs[1:], signature)


def test_it_keeps_the_raw_target_as_received() -> None:
    assert path_with_query(b"/app%20confirm", b"a=%2B1&b=") == "/app%20confirm?a=%2B1&b="
    assert path_with_query("/app confirm") == "/app%20confirm"


def test_it_needs_a_token() -> None:
    with pytest.raises(ValueError, match="auth token"):
        WebhookSignatureValidator("", "https://x.example")


# --- the simulator signs its webhooks the way Twilio does ------------------------------------------------------

INBOUND = [("MessageSid", "SM" + "1" * 32), ("From", "+15551230001"), ("To", "+15005550006"), ("Body", "1 😀 & ok")]


def test_it_accepts_what_the_simulator_posts() -> None:
    from twilio.request_validator import RequestValidator

    from clinic_reminders.simulator.webhooks import prepare_webhook

    method, url, body, headers = prepare_webhook(TOKEN, "post", "https://clinic.example.com:8080/app_confirm", INBOUND)
    assert (method, url) == ("POST", "https://clinic.example.com:8080/app_confirm")
    assert body == urlencode(INBOUND)
    assert RequestValidator(TOKEN).validate(url, dict(INBOUND), headers["X-Twilio-Signature"])
    validator = WebhookSignatureValidator(TOKEN, "https://clinic.example.com:8080")
    assert validator.is_valid("/app_confirm", INBOUND, headers["X-Twilio-Signature"])


def test_it_accepts_what_the_simulator_sends_by_get() -> None:
    from twilio.request_validator import RequestValidator

    from clinic_reminders.simulator.webhooks import prepare_webhook

    method, url, body, headers = prepare_webhook(
        TOKEN, "GET", "https://clinic.example.com/app_confirm?office=1", INBOUND
    )
    assert method == "GET" and body is None
    assert url == "https://clinic.example.com/app_confirm?office=1&" + urlencode(INBOUND)
    assert RequestValidator(TOKEN).validate(url, {}, headers["X-Twilio-Signature"])
    target = url.removeprefix("https://clinic.example.com")
    assert WebhookSignatureValidator(TOKEN, "https://clinic.example.com").is_valid(
        target, None, headers["X-Twilio-Signature"]
    )
    assert not WebhookSignatureValidator("other", "https://clinic.example.com").is_valid(
        target, None, headers["X-Twilio-Signature"]
    )


def test_a_signature_that_is_not_ascii_is_refused_not_an_error() -> None:
    validator = WebhookSignatureValidator(TOKEN, "https://mycompany.com")
    assert not validator.is_valid("/myapp.php?foo=1&bar=2", PARAMS, "é✓")
