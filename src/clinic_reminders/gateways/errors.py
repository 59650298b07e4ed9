"""Twilio failures as one error type that says what to do next.

Twilio answers with an HTTP status and an error code (shared/TWILIO.md). Callers do not care about codes; they
care whether to retry (and when), give up on this recipient, or stop everything because the account is set up
wrongly. The mapping is data (`RULES`), so a new code is one line; a code that needs a person also carries what
the doctor tells them (`Advice`).

Reasons never contain patient data: Twilio's own messages quote the phone number ("The 'To' number +1... is not
valid"), so they are dropped and the reason comes from the table.
"""

from __future__ import annotations

import asyncio
import enum
import json
from dataclasses import dataclass
from typing import Any


class ErrorKind(enum.StrEnum):
    PERMANENT = "permanent"  # this recipient/message will never work: do not retry
    TRANSIENT = "transient"  # try again after `retry_after` seconds
    CONFIGURATION = "configuration"  # the account or sender is set up wrongly: stop and tell the doctor


class ErrorAction(enum.StrEnum):
    """What the caller should do beyond retry-or-not (TWILIO.md's "handling" column)."""

    RETRY = "retry"
    RETRY_ONCE = "retry_once"
    SLOW_DOWN = "slow_down"
    FLAG_INVALID_NUMBER = "flag_invalid_number"
    NO_PERMISSION = "no_permission"
    OPT_OUT = "opt_out"
    TRY_VOICE = "try_voice"
    SWITCH_TO_VOICE = "switch_to_voice"
    ALERT_STAFF = "alert_staff"
    FIX_CONFIGURATION = "fix_configuration"
    GIVE_UP = "give_up"


class Scope(enum.StrEnum):
    """What a failure the doctor reports is about: it says what to fix, and when the failure is over."""

    NUMBER = "number"  # the sending number: over once it sends successfully, or is no longer one we send from
    PATIENT = "patient"  # this recipient only (a trial account, a region not enabled): over once a send to them works
    MESSAGE = "message"  # carriers judged the text and the sender's registration


@dataclass(frozen=True, slots=True)
class Advice:
    """What the doctor (`twilio.delivery_errors`) tells a person about a code: what it means here, what to do."""

    meaning: str
    fix: str
    scope: Scope


@dataclass(frozen=True, slots=True)
class ErrorRule:
    kind: ErrorKind
    action: ErrorAction
    reason: str
    retry_after: float | None = None
    advice: Advice | None = None  # set for the codes that need a person: the doctor's check reports them


P, T, C = ErrorKind.PERMANENT, ErrorKind.TRANSIENT, ErrorKind.CONFIGURATION
A = ErrorAction

# Codes other modules name. 2xxxx come back from the REST API, 30xxx in status callbacks (ErrorCode).
BAD_CREDENTIALS = 20003
TOO_MANY_REQUESTS = 20429
QUEUE_FULL = 21611
CARRIER_FILTERED = 30007
UNVERIFIED_TOLL_FREE = 30032
UNREGISTERED_10DLC = 30034

# Twilio error code -> rule.
RULES: dict[int, ErrorRule] = {
    BAD_CREDENTIALS: ErrorRule(
        C, A.FIX_CONFIGURATION, "Twilio rejected the credentials (account SID, auth token or API key)"
    ),
    20404: ErrorRule(P, A.GIVE_UP, "the Twilio resource does not exist"),
    TOO_MANY_REQUESTS: ErrorRule(T, A.RETRY, "too many concurrent requests to Twilio; retry with backoff", 2.0),
    21210: ErrorRule(
        C,
        A.FIX_CONFIGURATION,
        "the caller ID is not a verified number of this account",
        advice=Advice(
            "a clinic phone used as the caller ID of reminder calls is not verified at Twilio",
            "run `reminders setup twilio`: Twilio calls each clinic phone and whoever answers types the 6-digit "
            "code it shows",
            Scope.NUMBER,
        ),
    ),
    21211: ErrorRule(P, A.FLAG_INVALID_NUMBER, "the recipient's number is not a valid phone number"),
    21215: ErrorRule(P, A.NO_PERMISSION, "the account may not call that region"),
    21216: ErrorRule(P, A.GIVE_UP, "the recipient's number is blocked for calls"),
    21217: ErrorRule(P, A.FLAG_INVALID_NUMBER, "the recipient's number is not a valid phone number"),
    21219: ErrorRule(C, A.FIX_CONFIGURATION, "trial account: calls may only go to verified numbers"),
    21408: ErrorRule(
        P,
        A.NO_PERMISSION,
        "the account may not text that country or region (geo permissions)",
        advice=Advice(
            "texts to some countries or regions are not enabled for the account",
            "enable them at console.twilio.com → Messaging → Settings → Geo permissions; the numbers refused "
            "meanwhile are marked invalid on the patients' records",
            Scope.PATIENT,
        ),
    ),
    21606: ErrorRule(
        C,
        A.FIX_CONFIGURATION,
        "the From number is not a message-capable number of this account",
        advice=Advice(
            "the sending number is not an SMS-capable number of this Twilio account",
            "set TWILIO_PHONE_NUMBER (and each clinic's Twilio number) to an SMS-capable number the account owns, "
            "or run `reminders setup twilio` to buy one",
            Scope.NUMBER,
        ),
    ),
    21608: ErrorRule(
        C,
        A.FIX_CONFIGURATION,
        "trial account: the recipient is not a verified number",
        advice=Advice(
            "the account is a Trial: texts reach verified numbers only",
            "upgrade the account at console.twilio.com → Billing → Upgrade",
            Scope.PATIENT,
        ),
    ),
    21610: ErrorRule(P, A.OPT_OUT, "the recipient opted out of texts (STOP)"),
    QUEUE_FULL: ErrorRule(T, A.SLOW_DOWN, "the sender's queue holds more than 10 hours of messages", 900.0),
    21612: ErrorRule(P, A.TRY_VOICE, "the recipient's number cannot be reached by SMS"),
    21614: ErrorRule(P, A.SWITCH_TO_VOICE, "the recipient's number is not a mobile number"),
    30003: ErrorRule(T, A.RETRY_ONCE, "the handset is unreachable", 3600.0),
    30005: ErrorRule(P, A.GIVE_UP, "the recipient's handset is unknown or no longer exists"),
    30006: ErrorRule(P, A.SWITCH_TO_VOICE, "landline or unreachable carrier"),
    CARRIER_FILTERED: ErrorRule(
        P,
        A.ALERT_STAFF,
        "the carrier filtered the message (content or registration)",
        advice=Advice(
            "carriers filtered texts as spam",
            "review the reminder wording on the configuration screen (the clinic's name, no link shorteners) and "
            "the number's A2P 10DLC or toll-free registration; give Twilio support a filtered message's SID if it "
            "goes on",
            Scope.MESSAGE,
        ),
    ),
    UNVERIFIED_TOLL_FREE: ErrorRule(
        C,
        A.ALERT_STAFF,
        "the toll-free sender is not verified",
        advice=Advice(
            "the toll-free sending number is not verified: carriers block its texts",
            "finish the toll-free verification at console.twilio.com → Phone Numbers → Regulatory Compliance",
            Scope.NUMBER,
        ),
    ),
    UNREGISTERED_10DLC: ErrorRule(
        C,
        A.ALERT_STAFF,
        "the 10DLC sender is not registered",
        advice=Advice(
            "the sending number is not registered for A2P 10DLC: carriers block its texts",
            "register the brand and a campaign at console.twilio.com → Messaging → Regulatory Compliance → "
            "A2P 10DLC, and add the number to the campaign's messaging service",
            Scope.NUMBER,
        ),
    ),
}

# What the dispatcher makes wait (a message refused for one of these says nothing about the patient).
CONFIGURATION_CODES = frozenset(code for code, rule in RULES.items() if rule.kind is C)
# Carriers refuse the sender until its registration is approved: its texts wait (registration/holds.py).
REGISTRATION_BLOCKS = frozenset({UNVERIFIED_TOLL_FREE, UNREGISTERED_10DLC})
# Refused before Twilio took the message (HTTP 429 is another): it was certainly not sent.
NOT_TAKEN = frozenset({TOO_MANY_REQUESTS, QUEUE_FULL})
# The codes the doctor reports, with what it says.
ADVICE: dict[int, Advice] = {code: rule.advice for code, rule in RULES.items() if rule.advice is not None}

RATE_LIMITED = ErrorRule(T, A.RETRY, "Twilio is rate limiting requests (HTTP 429)", 2.0)
SERVER_ERROR = ErrorRule(T, A.RETRY, "Twilio had a server error", 5.0)
TIMEOUT = ErrorRule(T, A.RETRY, "no answer from Twilio in time (timeout or dropped connection)", 10.0)
UNAUTHORIZED = RULES[BAD_CREDENTIALS]


class TwilioError(Exception):
    """A Twilio call failed. `kind` says what to do; `reason` is safe to log and show."""

    def __init__(
        self,
        kind: ErrorKind,
        reason: str,
        *,
        code: int | None = None,
        status: int | None = None,
        action: ErrorAction = ErrorAction.GIVE_UP,
        retry_after: float | None = None,
    ) -> None:
        self.kind = kind
        self.reason = reason
        self.code = code
        self.status = status
        self.action = action
        self.retry_after = retry_after
        super().__init__(str(self))

    @classmethod
    def from_rule(cls, rule: ErrorRule, *, code: int | None = None, status: int | None = None) -> TwilioError:
        return cls(rule.kind, rule.reason, code=code, status=status, action=rule.action, retry_after=rule.retry_after)

    @property
    def is_permanent(self) -> bool:
        return self.kind is ErrorKind.PERMANENT

    @property
    def is_transient(self) -> bool:
        return self.kind is ErrorKind.TRANSIENT

    @property
    def is_configuration(self) -> bool:
        return self.kind is ErrorKind.CONFIGURATION

    def __str__(self) -> str:
        where = f"Twilio error {self.code}" if self.code else "Twilio error"
        if self.status:
            where += f" (HTTP {self.status})"
        return f"{where}, {self.kind.value}: {self.reason}"

    def __repr__(self) -> str:
        return f"TwilioError(kind={self.kind.value!r}, code={self.code!r}, status={self.status!r})"


def rule_for(code: int | None, status: int | None = None) -> ErrorRule:
    """The rule for a Twilio error code (REST or status callback), falling back on the HTTP status."""
    if code is not None and code in RULES:
        return RULES[code]
    if status == 429:
        return RATE_LIMITED
    if status == 401:
        return UNAUTHORIZED
    if status is not None and status >= 500:
        return SERVER_ERROR
    if code is not None and 30000 <= code < 31000:
        return ErrorRule(P, A.GIVE_UP, "the message could not be delivered")
    return ErrorRule(P, A.GIVE_UP, "Twilio refused the request")


def error_for_code(code: int | None, status: int | None = None) -> TwilioError:
    """Build the error for a code, e.g. the `ErrorCode` of a failed/undelivered status callback."""
    return TwilioError.from_rule(rule_for(code, status), code=code, status=status)


def from_rest_exception(exc: Any) -> TwilioError:
    """Translate `twilio.base.exceptions.TwilioRestException`; its message (which may quote numbers) is dropped."""
    status = _as_int(getattr(exc, "status", None))
    code = _as_int(getattr(exc, "code", None))
    if code == status:  # the SDK puts the HTTP status in `code` when the body had none
        code = None
    return error_for_code(code, status)


def from_page_exception(exc: BaseException) -> TwilioError:
    """The SDK's list calls raise a bare `TwilioException("Unable to fetch page", response)` on HTTP errors."""
    response = exc.args[1] if len(exc.args) > 1 else None
    status = _as_int(getattr(response, "status_code", None))
    try:
        code = _as_int(json.loads(getattr(response, "text", "") or "{}").get("code"))
    except (ValueError, AttributeError):
        code = None
    return error_for_code(code, status)


def from_transport_error(exc: BaseException) -> TwilioError:
    """A timeout, refused or dropped connection: Twilio may or may not have acted, so it is transient."""
    del exc  # the exception text may hold the URL, with numbers in its query
    return TwilioError.from_rule(TIMEOUT)


TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (TimeoutError, asyncio.TimeoutError, ConnectionError, OSError)


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
