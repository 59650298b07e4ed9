"""What each kind of write-back destination takes: its settings, table by table, and its one secret."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from clinic_reminders.models import DestinationKind
from clinic_reminders.refusals import Refused
from clinic_reminders.writeback.destination_settings import check_secret, clean, kind_of, new_webhook_secret, target
from tests.web.writeback_support import ca_certificate_pem, ec_key_pem, rsa_key_pem

WEBHOOK, HL7, FHIR = DestinationKind.WEBHOOK, DestinationKind.HL7, DestinationKind.FHIR
HL7_BASE = {"host": "interface.pms.example.com", "port": 2575}
FHIR_BASE = {"base_url": "https://fhir.pms.example.com/r4"}
SMART = {
    **FHIR_BASE,
    "auth": "smart",
    "client_id": "reminders",
    "token_url": "https://fhir.pms.example.com/auth/token",
    "key_id": "key-1",
}


def test_it_fills_in_the_defaults_of_each_kind() -> None:
    assert clean(WEBHOOK, {"url": "https://pms.example.com/hooks"}) == {
        "url": "https://pms.example.com/hooks",
        "event_types": None,
    }
    assert clean(HL7, HL7_BASE) == {
        "host": "interface.pms.example.com",
        "port": 2575,
        "tls": False,
        "ca_certificate": None,
        "sending_application": "CLINIC-REMINDERS",
        "sending_facility": "",
        "receiving_application": "",
        "receiving_facility": "",
        "opt_out_message": "ADT^A31",
        "ack_timeout": 30,
        "version": "2.5.1",
        "assigning_authority": "",
        "filler_status": None,
    }
    assert clean(FHIR, FHIR_BASE) == {**FHIR_BASE, "auth": "bearer", "event_types": None}
    assert clean(FHIR, SMART) == {**SMART, "event_types": None, "alg": "RS384", "scope": None}


@pytest.mark.parametrize(
    ("kind", "settings", "expected"),
    [
        (WEBHOOK, {"url": "http://127.0.0.1:9000/hook"}, {"url": "http://127.0.0.1:9000/hook"}),
        (WEBHOOK, {"url": "http://localhost/hook"}, {"url": "http://localhost/hook"}),
        (WEBHOOK, {"url": " https://pms.example.com/h?office=3 "}, {"url": "https://pms.example.com/h?office=3"}),
        (
            WEBHOOK,
            {"url": "https://x.example", "event_types": ["patient.opted-out", "appointment.confirmed"]},
            {"event_types": ["appointment.confirmed", "patient.opted-out"]},  # in the order of EventType
        ),
        (WEBHOOK, {"url": "https://x.example", "event_types": []}, {"event_types": None}),
        (HL7, {**HL7_BASE, "port": "2576"}, {"port": 2576}),  # as a form sends it
        (HL7, {**HL7_BASE, "host": "10.0.0.7"}, {"host": "10.0.0.7"}),
        (HL7, {**HL7_BASE, "ack_timeout": 5, "opt_out_message": "none"}, {"ack_timeout": 5, "opt_out_message": "none"}),
        (HL7, {**HL7_BASE, "sending_facility": "RIVERSIDE"}, {"sending_facility": "RIVERSIDE"}),
        (FHIR, {**SMART, "alg": "ES384"}, {"alg": "ES384"}),
        (
            FHIR,
            {**SMART, "scope": " system/Appointment.rs system/Appointment.u "},
            {"scope": "system/Appointment.rs system/Appointment.u"},
        ),
    ],
)
def test_it_takes_good_settings(kind: DestinationKind, settings: dict[str, Any], expected: dict[str, Any]) -> None:
    cleaned = clean(kind, settings)
    assert {k: cleaned[k] for k in expected} == expected


@pytest.mark.parametrize(
    ("kind", "settings", "field", "words"),
    [
        (WEBHOOK, {}, "settings.url", "fill this in"),
        (WEBHOOK, {"url": "http://pms.example.com/hooks"}, "settings.url", "https://"),
        (WEBHOOK, {"url": "ftp://pms.example.com"}, "settings.url", "not a web address"),
        (WEBHOOK, {"url": "https://"}, "settings.url", "not a web address"),
        (WEBHOOK, {"url": "https://user:pw@pms.example.com"}, "settings.url", "user name or password"),
        (WEBHOOK, {"url": "https://pms.example.com:99999/"}, "settings.url", "not a web address"),
        (WEBHOOK, {"url": "https://pms.example.com/a b"}, "settings.url", "spaces"),
        (WEBHOOK, {"url": "https://pms.example.com/#x"}, "settings.url", "fragment"),
        (WEBHOOK, {"url": 42}, "settings.url", "as text"),
        (WEBHOOK, {"url": "https://x.example", "event_types": ["appointment.eaten"]}, "settings.event_types", "1 "),
        (WEBHOOK, {"url": "https://x.example", "event_types": "patient.opted-out"}, "settings.event_types", "list"),
        (WEBHOOK, {"url": "https://x.example", "secret": "abc"}, "settings.secret", "not a setting"),
        (HL7, {"port": 2575}, "settings.host", "fill this in"),
        (HL7, {**HL7_BASE, "host": "pms.example.com:2575"}, "settings.host", "(no port)"),
        (HL7, {**HL7_BASE, "port": 0}, "settings.port", "1 to 65535"),
        (HL7, {**HL7_BASE, "port": 65536}, "settings.port", "1 to 65535"),
        (HL7, {**HL7_BASE, "port": "abc"}, "settings.port", "whole number"),
        (HL7, {**HL7_BASE, "port": True}, "settings.port", "whole number"),
        (HL7, {**HL7_BASE, "tls": "yes"}, "settings.tls", "true or false"),
        (HL7, {**HL7_BASE, "ack_timeout": 0}, "settings.ack_timeout", "1 to 300"),
        (HL7, {**HL7_BASE, "opt_out_message": "ADT^A08"}, "settings.opt_out_message", "ADT^A31"),
        (HL7, {**HL7_BASE, "sending_application": "APP|X"}, "settings.sending_application", "delimiters"),
        (HL7, {**HL7_BASE, "receiving_facility": "A^B"}, "settings.receiving_facility", "delimiters"),
        (HL7, {**HL7_BASE, "tls": True, "ca_certificate": "not a certificate"}, "settings.ca_certificate", "PEM"),
        (HL7, {**HL7_BASE, "ca_certificate": "CA"}, "settings.ca_certificate", "PEM"),
        (HL7, {**HL7_BASE, "tls": True, "ca_certificate": "PRIVATE KEY"}, "settings.ca_certificate", "private key"),
        (FHIR, {}, "settings.base_url", "fill this in"),
        (FHIR, {**FHIR_BASE, "auth": "basic"}, "settings.auth", "bearer"),
        (FHIR, {**FHIR_BASE, "client_id": "x"}, "settings.client_id", "SMART"),
        (FHIR, {**SMART, "client_id": ""}, "settings.client_id", "fill this in"),
        (FHIR, {**SMART, "token_url": "http://auth.example.com/token"}, "settings.token_url", "https://"),
        (FHIR, {**SMART, "alg": "HS256"}, "settings.alg", "RS384"),
        (FHIR, {**FHIR_BASE, "event_types": ["nope"]}, "settings.event_types", "unknown"),
        (FHIR, {**SMART, "scope": 'system/"Appointment"'}, "settings.scope", "separated by single spaces"),
        (FHIR, {**FHIR_BASE, "subscription_token_sha256": "0" * 64}, "settings.subscription_token_sha256", "not a"),
    ],
)
def test_it_refuses_bad_settings_naming_the_field(
    kind: DestinationKind, settings: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(Refused) as refused:
        clean(kind, settings)
    assert refused.value.field == field
    assert words in refused.value.message
    for value in settings.values():  # what was typed is not repeated
        if isinstance(value, str) and len(value) > 8:
            assert value not in refused.value.message


def test_it_takes_a_ca_certificate_only_with_tls() -> None:
    pem = ca_certificate_pem()
    assert clean(HL7, {**HL7_BASE, "tls": True, "ca_certificate": pem})["ca_certificate"] == pem.strip() + "\n"
    with pytest.raises(Refused, match="only with TLS"):
        clean(HL7, {**HL7_BASE, "ca_certificate": pem})


def test_it_refuses_an_unknown_kind() -> None:
    with pytest.raises(Refused) as refused:
        kind_of("email")
    assert refused.value.field == "kind"


@pytest.mark.parametrize(
    ("settings", "secret", "words"),
    [
        (clean(FHIR, FHIR_BASE), None, "access token"),
        (clean(FHIR, FHIR_BASE), "two words", "without spaces"),
        (clean(FHIR, SMART), None, "private key"),
        (clean(FHIR, SMART), "not a key", "not a PEM private key"),
        (clean(FHIR, SMART), "EC", "RS384 needs an RSA"),
        (clean(FHIR, SMART), "RSA-1024", "at least 2048 bits"),
        (clean(FHIR, {**SMART, "alg": "ES384"}), "RSA", "ES384 needs an elliptic-curve"),
        (clean(FHIR, {**SMART, "alg": "ES384"}), "EC-P256", "P-384"),
    ],
)
def test_it_refuses_a_secret_the_fhir_server_cannot_use(
    settings: dict[str, Any], secret: str | None, words: str
) -> None:
    keys = {
        "EC": ec_key_pem(),
        "RSA": rsa_key_pem(),
        "RSA-1024": rsa_key_pem(1024),
        "EC-P256": ec_key_pem(ec.SECP256R1()),
    }
    with pytest.raises(Refused) as refused:
        check_secret(FHIR, settings, keys.get(secret or "", secret))
    assert refused.value.field == "secret"
    assert words in refused.value.message


def test_it_takes_a_token_or_a_key_that_fits() -> None:
    check_secret(FHIR, clean(FHIR, FHIR_BASE), "eyJhbGciOiJSUzM4NCJ9.e30.c2ln")
    check_secret(FHIR, clean(FHIR, SMART), rsa_key_pem())
    check_secret(FHIR, clean(FHIR, {**SMART, "alg": "ES384"}), ec_key_pem())


def test_a_webhook_secret_follows_standard_webhooks() -> None:
    secret, other = new_webhook_secret(), new_webhook_secret()
    assert secret.startswith("whsec_") and secret != other
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 24


def test_it_says_where_each_kind_sends() -> None:
    assert target("webhook", {"url": "https://x.example/h"}) == "https://x.example/h"
    assert target("hl7", {"host": "10.0.0.7", "port": 2575, "tls": True}) == "10.0.0.7:2575 (TLS)"
    assert target("fhir", FHIR_BASE) == "https://fhir.pms.example.com/r4"
