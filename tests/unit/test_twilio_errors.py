"""Twilio error codes and transport failures -> our TwilioError: kind, action, delay, and no patient data."""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException

from clinic_reminders.gateways.errors import (
    RULES,
    ErrorAction,
    ErrorKind,
    TwilioError,
    error_for_code,
    from_rest_exception,
    from_transport_error,
    rule_for,
)

P, T, C = ErrorKind.PERMANENT, ErrorKind.TRANSIENT, ErrorKind.CONFIGURATION

# TWILIO.md's table, row by row.
TABLE = [
    (20429, T, ErrorAction.RETRY),
    (21211, P, ErrorAction.FLAG_INVALID_NUMBER),
    (21408, P, ErrorAction.NO_PERMISSION),
    (21606, C, ErrorAction.FIX_CONFIGURATION),
    (21608, C, ErrorAction.FIX_CONFIGURATION),
    (21610, P, ErrorAction.OPT_OUT),
    (21611, T, ErrorAction.SLOW_DOWN),
    (21612, P, ErrorAction.TRY_VOICE),
    (21614, P, ErrorAction.SWITCH_TO_VOICE),
    (30003, T, ErrorAction.RETRY_ONCE),
    (30005, P, ErrorAction.GIVE_UP),
    (30006, P, ErrorAction.SWITCH_TO_VOICE),
    (30007, P, ErrorAction.ALERT_STAFF),
    (30032, C, ErrorAction.ALERT_STAFF),
    (30034, C, ErrorAction.ALERT_STAFF),
]


@pytest.mark.parametrize(("code", "kind", "action"), TABLE)
def test_it_maps_every_code_of_the_table(code: int, kind: ErrorKind, action: ErrorAction) -> None:
    error = error_for_code(code, 400)
    assert (error.kind, error.action, error.code) == (kind, action, code)
    assert (error.retry_after is not None) == (kind is T)


def test_it_keeps_the_table_as_data() -> None:
    assert {code for code, _, _ in TABLE} <= set(RULES)


@pytest.mark.parametrize(
    ("status", "kind"),
    [(429, T), (500, T), (502, T), (503, T), (401, C), (400, P), (404, P)],
)
def test_it_falls_back_on_the_http_status(status: int, kind: ErrorKind) -> None:
    assert rule_for(None, status).kind is kind


def test_it_treats_an_unknown_delivery_error_as_permanent() -> None:
    assert error_for_code(30999).is_permanent


def test_it_translates_the_sdk_exception_without_its_message() -> None:
    exc = TwilioRestException(
        400,
        "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json",
        "The 'To' number +15551234567 is bad",
        21211,
    )
    error = from_rest_exception(exc)
    assert error.code == 21211 and error.status == 400 and error.is_permanent
    assert "+1555" not in str(error) and "+1555" not in repr(error) and "+1555" not in error.reason


def test_it_ignores_a_code_that_is_only_the_http_status() -> None:
    error = from_rest_exception(TwilioRestException(503, "https://api.twilio.com/x", "busy", 503))
    assert error.code is None and error.status == 503 and error.is_transient


def test_it_calls_timeouts_transient_and_forgets_the_url() -> None:
    error = from_transport_error(TimeoutError("GET https://api.twilio.com/...?To=%2B15551234567 timed out"))
    assert error.is_transient and error.retry_after
    assert "1555" not in str(error)


def test_it_says_what_kind_it_is() -> None:
    error = error_for_code(21608, 400)
    assert isinstance(error, Exception) and error.is_configuration and not error.is_transient
    assert (
        str(error)
        == "Twilio error 21608 (HTTP 400), configuration: trial account: the recipient is not a verified number"
    )
    assert isinstance(TwilioError(T, "x"), TwilioError)
