"""What the simulator starts with: accounts, their numbers and caller IDs, and the faults to inject.

Everything is plain data, so a test, the demo, `reminders simulator --config FILE` (JSON) and the CLI options all
build the same `SimulatorConfig`.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

DEFAULT_ACCOUNT_SID = "AC" + "c1" * 16
DEFAULT_AUTH_TOKEN = "simulator-auth-token-0123456789ab"  # noqa: S105 (a fake Twilio's fake token)
DEFAULT_PHONE_NUMBER = "+15005550006"  # Twilio's magic "valid From" number


def stable_sid(prefix: str, *parts: str) -> str:
    """A SID derived from seed data, so seeded numbers keep their SID across restarts and resets."""
    return prefix + hashlib.sha256("/".join(parts).encode()).hexdigest()[:32]


@dataclass
class NumberConfig:
    """A phone number the account owns, with its webhooks as set in Twilio's console."""

    phone_number: str
    sms_url: str | None = None
    sms_method: str = "POST"
    voice_url: str | None = None
    voice_method: str = "POST"
    friendly_name: str | None = None
    sms: bool = True
    voice: bool = True
    # Carrier registration (A2P 10DLC campaign or toll-free verification) made outside the simulator's view:
    # True delivers its texts as before; False filters them (30034/30032) until registered here.
    registered: bool = True


REGISTRATIONS = ("none", "primary", "approved")


@dataclass
class AccountConfig:
    sid: str = DEFAULT_ACCOUNT_SID
    auth_token: str = DEFAULT_AUTH_TOKEN
    friendly_name: str = "Simulated Twilio account"
    trial: bool = False  # Trial: only verified recipients (21608), "Sent from your Twilio trial account" prefix
    status: str = "active"
    balance: str = "20.00"
    currency: str = "USD"
    numbers: list[NumberConfig] = field(default_factory=lambda: [NumberConfig(DEFAULT_PHONE_NUMBER)])
    verified_caller_ids: list[str] = field(default_factory=list)
    api_keys: dict[str, str] = field(default_factory=dict)  # key SID (SK...) -> secret
    # What the account has registered with carriers at start (see seeding.py): "none"; "primary" (the ISV's
    # approved primary customer profile only); "approved" (a registered office: profile, brand, Messaging
    # Service with its verified campaign, toll-free verifications).
    registration: str = "none"
    service_status_callback: str | None = None  # the seeded Messaging Service's, with "approved"

    def __post_init__(self) -> None:
        if self.registration not in REGISTRATIONS:
            raise ValueError(f"registration must be one of {', '.join(REGISTRATIONS)}")


@dataclass
class Faults:
    """Injected misbehaviour of the REST API (not of the inspection API). Rates are 0..1 per request."""

    latency_ms: int = 0
    rate_429: float = 0.0  # HTTP 429 with Twilio error 20429
    rate_500: float = 0.0  # HTTP 500
    rate_timeout: float = 0.0  # hang for `timeout_hang_s`, then give up on the request without an answer
    rate_lost_response: float = 0.0  # act on the request (e.g. send the text), then hang: the caller never knows
    timeout_hang_s: float = 30.0
    max_concurrency: int = 0  # > 0: requests beyond this many in flight get 429/20429, like Twilio's limit


@dataclass
class SimulatorConfig:
    accounts: list[AccountConfig] = field(default_factory=lambda: [AccountConfig()])
    faults: Faults = field(default_factory=Faults)
    callback_delay_ms: int = 20  # between successive status callbacks of one message or call
    auto_answer_calls: bool = False  # answer every call at once, instead of waiting for the phone page / API
    webhook_timeout_s: float = 15.0  # Twilio gives up on a webhook after 15 s
    fault_seed: int | None = None  # seed the fault dice for reproducible runs
    webhook_ca_file: str | None = None  # a PEM CA the webhooks also trust (tests of HTTPS with a private CA)
    review_delay_s: float = 2.0  # carrier/Trust Hub review of a submission: in review at half, decided at the end
    reviews_approve: bool = True  # reviews decide by themselves; False: they wait for the inspection API

    @classmethod
    def for_account(
        cls,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        *,
        phone_numbers: list[str] | None = None,
        sms_url: str | None = None,
        sms_method: str = "POST",
        voice_url: str | None = None,
        voice_method: str = "POST",
        verified_caller_ids: list[str] | None = None,
        api_keys: dict[str, str] | None = None,
        trial: bool = False,
        balance: str = "20.00",
        faults: Faults | None = None,
        registered: bool = True,
        registration: str = "none",
        service_status_callback: str | None = None,
        **options: Any,
    ) -> SimulatorConfig:
        """One account whose numbers all share the same webhooks: the usual single-office set-up."""
        numbers = [
            NumberConfig(
                n,
                sms_url=sms_url,
                sms_method=sms_method,
                voice_url=voice_url,
                voice_method=voice_method,
                registered=registered,
            )
            for n in (phone_numbers or [DEFAULT_PHONE_NUMBER])
        ]
        account = AccountConfig(
            sid=account_sid,
            auth_token=auth_token,
            trial=trial,
            balance=balance,
            numbers=numbers,
            verified_caller_ids=list(verified_caller_ids or []),
            api_keys=dict(api_keys or {}),
            registration=registration,
            service_status_callback=service_status_callback,
        )
        return cls(accounts=[account], faults=faults or Faults(), **options)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SimulatorConfig:
        """Build from JSON-like data (unknown keys are an error, so typos do not pass silently)."""
        accounts = [
            AccountConfig(
                **{
                    **_known(AccountConfig, a),
                    "numbers": [NumberConfig(**_known(NumberConfig, n)) for n in a.get("numbers", [])],
                }
            )
            for a in data.get("accounts", [{}])
        ]
        faults = Faults(**_known(Faults, data.get("faults", {})))
        rest = {k: v for k, v in data.items() if k not in ("accounts", "faults")}
        return cls(accounts=accounts, faults=faults, **_known(cls, rest))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def with_faults(self, **changes: Any) -> SimulatorConfig:
        return replace(self, faults=replace(self.faults, **changes))


def _known(kind: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(kind)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"unknown {kind.__name__} setting(s): {', '.join(sorted(unknown))}")
    return dict(data)
