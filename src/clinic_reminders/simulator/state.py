"""The simulator's memory: accounts with their numbers, caller IDs and keys, and every message, call and room.

Plain dataclasses in dicts; one event loop owns them, so no locks. `Store.reset()` goes back to the seed.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .config import AccountConfig, NumberConfig, SimulatorConfig, stable_sid
from .magic import DELIVERY_ERROR_MESSAGES


def new_sid(prefix: str) -> str:
    """Twilio SIDs: two letters and 32 hex digits."""
    return prefix + secrets.token_hex(16)


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Number:
    sid: str
    account_sid: str
    phone_number: str
    friendly_name: str
    sms_url: str | None
    sms_method: str
    voice_url: str | None
    voice_method: str
    sms: bool = True
    voice: bool = True
    registered: bool = False  # registered with carriers outside the simulator's view (NumberConfig.registered)
    date_created: datetime = field(default_factory=now)
    date_updated: datetime = field(default_factory=now)


@dataclass(slots=True)
class CallerIdRecord:
    sid: str
    account_sid: str
    phone_number: str
    friendly_name: str
    date_created: datetime = field(default_factory=now)


@dataclass(slots=True)
class Key:
    sid: str
    friendly_name: str
    secret: str
    date_created: datetime = field(default_factory=now)


@dataclass(slots=True)
class Address:
    """A 2010-API Address: `values` by the resource's field names (customer_name, street, city...)."""

    sid: str
    account_sid: str
    values: dict[str, str]
    date_created: datetime = field(default_factory=now)
    date_updated: datetime = field(default_factory=now)


@dataclass(slots=True)
class Account:
    sid: str
    auth_token: str
    friendly_name: str
    trial: bool
    status: str
    balance: str
    currency: str
    numbers: dict[str, Number] = field(default_factory=dict)  # by SID
    caller_ids: dict[str, CallerIdRecord] = field(default_factory=dict)  # by SID
    keys: dict[str, Key] = field(default_factory=dict)  # by SID
    addresses: dict[str, Address] = field(default_factory=dict)  # by SID
    opted_out: set[tuple[str, str]] = field(default_factory=set)  # (patient, our number) after STOP
    date_created: datetime = field(default_factory=now)

    @property
    def type(self) -> str:
        return "Trial" if self.trial else "Full"

    def number(self, phone_number: str) -> Number | None:
        return next((n for n in self.numbers.values() if n.phone_number == phone_number), None)

    def is_verified(self, phone_number: str) -> bool:
        return any(c.phone_number == phone_number for c in self.caller_ids.values())


@dataclass(slots=True)
class Message:
    sid: str
    account_sid: str
    to: str
    from_: str
    body: str
    direction: str  # outbound-api, outbound-reply, inbound
    status: str
    date_created: datetime
    date_updated: datetime
    date_sent: datetime | None = None
    num_segments: int = 1
    num_media: int = 0
    status_callback: str | None = None
    validity_period: int | None = None
    messaging_service_sid: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    callbacks: list[dict[str, Any]] = field(default_factory=list)  # what each status callback got back

    def move(self, status: str, code: int | None = None) -> None:
        """On to `status` (with Twilio's error `code` for a failure). Like Twilio's, the send date is set once the
        message leaves the queue: a queued one has none, so DateSent filters do not list it."""
        self.status = status
        self.date_updated = now()
        if status not in ("queued", "accepted", "sending") and self.date_sent is None:
            self.date_sent = self.date_updated
        if code is not None:
            self.error_code = code
            self.error_message = DELIVERY_ERROR_MESSAGES.get(code)


@dataclass(slots=True)
class Gather:
    action: str
    method: str
    num_digits: int | None
    finish_on_key: str
    action_on_empty_result: bool
    remaining: list[Any]  # TwiML elements after the <Gather>, run when it times out


@dataclass(slots=True)
class Call:
    sid: str
    account_sid: str
    to: str
    from_: str
    direction: str
    status: str
    date_created: datetime
    date_updated: datetime
    url: str | None = None
    method: str = "POST"
    twiml: str | None = None  # the Twiml parameter, instead of a URL
    status_callback: str | None = None
    status_callback_method: str = "POST"
    status_callback_events: frozenset[str] = frozenset({"completed"})
    machine_detection: str | None = None
    answered_by: str | None = None
    ring_timeout: int = 60
    start_time: datetime | None = None
    end_time: datetime | None = None
    sequence: int = 0
    transcript: list[dict[str, Any]] = field(default_factory=list)  # what the callee heard and did
    gather: Gather | None = None
    current_url: str | None = None
    validation_code: str | None = None  # caller-ID verification call: the code to type

    @property
    def duration(self) -> int | None:
        if self.start_time is None or self.end_time is None:
            return None
        return int((self.end_time - self.start_time).total_seconds())


@dataclass(slots=True)
class Room:
    sid: str
    account_sid: str
    unique_name: str
    type: str
    status: str
    max_participants: int
    empty_room_timeout: int
    unused_room_timeout: int
    status_callback: str | None
    status_callback_method: str
    date_created: datetime = field(default_factory=now)
    date_updated: datetime = field(default_factory=now)
    end_time: datetime | None = None
    participants: dict[str, Participant] = field(default_factory=dict)  # by SID, connected or not
    sequence: int = 0  # status callbacks' SequenceNumber

    def connected(self) -> list[Participant]:
        return [p for p in self.participants.values() if p.status == "connected"]


@dataclass(slots=True)
class Participant:
    """Someone in a video room: through the SDK's signalling WebSocket, or added with the inspection API."""

    sid: str
    identity: str
    status: str = "connected"
    revision: int = 1
    start_time: datetime = field(default_factory=now)
    end_time: datetime | None = None

    @property
    def duration(self) -> int:
        return int(((self.end_time or now()) - self.start_time).total_seconds())


@dataclass(slots=True)
class AlertRecord:
    sid: str
    account_sid: str
    error_code: str
    log_level: str
    alert_text: str
    request_method: str
    request_url: str
    resource_sid: str | None
    request_variables: str = ""
    response_body: str = ""
    date_created: datetime = field(default_factory=now)


class Store:
    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.accounts: dict[str, Account] = {}
        self.messages: dict[str, Message] = {}
        self.calls: dict[str, Call] = {}
        self.rooms: dict[str, Room] = {}
        self.alerts: list[AlertRecord] = []
        self._auth_cache: dict[str, tuple[Account, str] | None] = {}
        self.reset()

    def reset(self, config: SimulatorConfig | None = None) -> None:
        if config is not None:
            self.config = config
        self.accounts = {a.sid: _account(a) for a in self.config.accounts}
        self.messages.clear()
        self.calls.clear()
        self.rooms.clear()
        self.alerts.clear()
        self._auth_cache.clear()

    def authenticate(self, header: str | None) -> tuple[Account, str] | None:
        """Basic auth with the account SID and auth token, or an API key SID and its secret.

        Returns the account and the credential's SID (AC... or SK...). Answers are cached per header value.
        """
        if not header:
            return None
        if header in self._auth_cache:
            return self._auth_cache[header]
        result = self._check_basic(header)
        if len(self._auth_cache) < 10_000:
            self._auth_cache[header] = result
        return result

    def _check_basic(self, header: str) -> tuple[Account, str] | None:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        account = self.accounts.get(user)
        if account is not None:
            return (account, user) if secrets.compare_digest(password, account.auth_token) else None
        for account in self.accounts.values():
            key = account.keys.get(user)
            if key is not None:
                return (account, user) if secrets.compare_digest(password, key.secret) else None
        return None

    def forget_credentials(self) -> None:
        self._auth_cache.clear()

    def number_anywhere(self, phone_number: str) -> Number | None:
        for account in self.accounts.values():
            number = account.number(phone_number)
            if number is not None:
                return number
        return None

    def add_alert(
        self, account_sid: str, text: str, method: str, url: str, sid: str | None, variables: str, response: str
    ) -> None:
        """Twilio's alert 11200: a webhook could not be retrieved."""
        alert = AlertRecord(new_sid("NO"), account_sid, "11200", "error", text, method, url, sid, variables, response)
        self.alerts.append(alert)


def make_number(account_sid: str, config: NumberConfig) -> Number:
    return Number(
        sid=stable_sid("PN", account_sid, config.phone_number),
        account_sid=account_sid,
        phone_number=config.phone_number,
        friendly_name=config.friendly_name or config.phone_number,
        sms_url=config.sms_url,
        sms_method=config.sms_method.upper(),
        voice_url=config.voice_url,
        voice_method=config.voice_method.upper(),
        sms=config.sms,
        voice=config.voice,
        registered=config.registered,
    )


def _account(config: AccountConfig) -> Account:
    account = Account(
        sid=config.sid,
        auth_token=config.auth_token,
        friendly_name=config.friendly_name,
        trial=config.trial,
        status=config.status,
        balance=config.balance,
        currency=config.currency,
    )
    for number_config in config.numbers:
        number = make_number(config.sid, number_config)
        account.numbers[number.sid] = number
    for phone in config.verified_caller_ids:
        sid = stable_sid("PN", config.sid, "caller-id", phone)
        account.caller_ids[sid] = CallerIdRecord(sid, config.sid, phone, phone)
    for key_sid, secret in config.api_keys.items():
        account.keys[key_sid] = Key(key_sid, "seeded key", secret)
    return account
