"""Carrier registration, per account: Messaging Services, Trust Hub bundles and what they hold, A2P brands and
campaigns, toll-free verifications.

A registration (customer profile, trust product, brand, campaign, toll-free verification) moves from submitted
to in review to approved or rejected, each resource in its own status words (`Lifecycle`); reviews.py drives
the moves, the REST modules create and edit the records. Plain dataclasses owned by the event loop, like
state.py's; `RegistrationStore.reset()` goes back to the seed (seeding.py).
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from .state import now

TOLL_FREE_AREA_CODES = frozenset({"800", "833", "844", "855", "866", "877", "888"})
ERROR_DOCS = "https://www.twilio.com/docs/api/errors/"


def is_toll_free(phone_number: str) -> bool:
    return phone_number.startswith("+1") and phone_number[2:5] in TOLL_FREE_AREA_CODES


def _tcr_id(prefix: str) -> str:
    """The Campaign Registry's ids look like B1A2B3C / C4D5E6F."""
    return prefix + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(6))


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """A resource's status words for each step of a review."""

    submitted: str
    in_review: str | None
    approved: str
    rejected: str


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a review failed: Twilio's error code, its reason and the fields at fault."""

    code: int
    reason: str
    fields: tuple[str, ...] = ()
    edit_allowed: bool = True  # toll-free verifications: may it be edited and resubmitted?


@dataclass(slots=True, kw_only=True)
class Registration:
    """Something carriers (or Twilio on their behalf) review. `revision` changes at every submission and
    decision, so a review timer set for an older submission does nothing."""

    KIND: ClassVar[str]
    LIFECYCLE: ClassVar[Lifecycle]

    sid: str
    account_sid: str
    status: str
    revision: int = 0
    date_created: datetime = field(default_factory=now)
    date_updated: datetime = field(default_factory=now)

    @property
    def under_review(self) -> bool:
        return self.status in (self.LIFECYCLE.submitted, self.LIFECYCLE.in_review)

    @property
    def approved(self) -> bool:
        return self.status == self.LIFECYCLE.approved

    @property
    def rejected(self) -> bool:
        return self.status == self.LIFECYCLE.rejected

    def submit(self) -> None:
        self._decided(self.LIFECYCLE.submitted)
        self._forget_decision()

    def start_review(self) -> None:
        if self.LIFECYCLE.in_review is not None:
            self.status = self.LIFECYCLE.in_review
            self.date_updated = now()

    def approve(self) -> None:
        self._decided(self.LIFECYCLE.approved)
        self._forget_decision()
        self._on_approve()

    def reject(self, rejection: Rejection) -> None:
        self._decided(self.LIFECYCLE.rejected)
        self._on_reject(rejection)

    def _decided(self, status: str) -> None:
        self.revision += 1
        self.status = status
        self.date_updated = now()

    def _forget_decision(self) -> None:
        """Clear what the last rejection recorded."""

    def _on_approve(self) -> None:
        """What approval adds besides the status."""

    def _on_reject(self, rejection: Rejection) -> None:
        """Record the rejection as this resource reports it."""


@dataclass(slots=True)
class EntityAssignment:
    sid: str
    bundle_sid: str
    account_sid: str
    object_sid: str
    date_created: datetime = field(default_factory=now)


@dataclass(slots=True)
class Evaluation:
    sid: str
    account_sid: str
    policy_sid: str
    bundle_sid: str
    status: str  # compliant | noncompliant
    results: list[dict[str, Any]]
    date_created: datetime = field(default_factory=now)


@dataclass(slots=True, kw_only=True)
class Bundle(Registration):
    """A Trust Hub bundle: a customer profile or a trust product, with its assigned entities."""

    LIFECYCLE = Lifecycle("pending-review", "in-review", "twilio-approved", "twilio-rejected")
    DRAFT: ClassVar[str] = "draft"

    policy_sid: str
    friendly_name: str
    email: str
    status_callback: str | None = None
    valid_until: datetime | None = None
    errors: list[dict[str, Any]] | None = None
    assignments: dict[str, EntityAssignment] = field(default_factory=dict)
    evaluations: dict[str, Evaluation] = field(default_factory=dict)

    @property
    def editable(self) -> bool:
        return self.status in (self.DRAFT, self.LIFECYCLE.rejected)

    def assigned(self) -> list[str]:
        return [a.object_sid for a in self.assignments.values()]

    def _forget_decision(self) -> None:
        self.errors = None

    def _on_approve(self) -> None:
        self.valid_until = now() + timedelta(days=365)

    def _on_reject(self, rejection: Rejection) -> None:
        self.errors = [{"code": rejection.code, "message": rejection.reason, "fields": list(rejection.fields)}]


@dataclass(slots=True, kw_only=True)
class CustomerProfile(Bundle):
    KIND = "customer_profile"


@dataclass(slots=True, kw_only=True)
class TrustProduct(Bundle):
    KIND = "trust_product"


@dataclass(slots=True)
class EndUser:
    sid: str
    account_sid: str
    friendly_name: str
    type: str
    attributes: dict[str, Any]
    date_created: datetime = field(default_factory=now)
    date_updated: datetime = field(default_factory=now)


@dataclass(slots=True)
class SupportingDocument:
    sid: str
    account_sid: str
    friendly_name: str
    type: str
    attributes: dict[str, Any]
    status: str = "DRAFT"
    date_created: datetime = field(default_factory=now)
    date_updated: datetime = field(default_factory=now)


def registration_error(rejection: Rejection) -> dict[str, Any]:
    """One entry of a brand's or campaign's `errors`, as Twilio's campaign troubleshooting guide shows them
    (its brand guide says brand errors follow the campaigns' format)."""
    return {
        "error_code": rejection.code,
        "fields": list(rejection.fields),
        "url": f"{ERROR_DOCS}{rejection.code}",
        "description": rejection.reason,
    }


@dataclass(slots=True, kw_only=True)
class Brand(Registration):
    KIND = "brand"
    LIFECYCLE = Lifecycle("PENDING", "IN_REVIEW", "APPROVED", "FAILED")
    FREE_UPDATES: ClassVar[int] = 3  # Twilio: resubmissions beyond three answer 21724

    customer_profile_bundle_sid: str
    a2p_profile_bundle_sid: str
    brand_type: str = "STANDARD"
    mock: bool = False
    skip_automatic_sec_vet: bool = False
    tcr_id: str = field(default_factory=lambda: _tcr_id("B"))
    identity_status: str = "UNVERIFIED"
    errors: list[dict[str, Any]] = field(default_factory=list)
    updates: int = 0

    @property
    def failure_reason(self) -> str | None:
        return str(self.errors[0]["description"]) if self.rejected and self.errors else None

    def _forget_decision(self) -> None:
        self.errors = []

    def _on_approve(self) -> None:
        self.identity_status = "VERIFIED"

    def _on_reject(self, rejection: Rejection) -> None:
        self.identity_status = "UNVERIFIED"
        self.errors = [registration_error(rejection)]


@dataclass(slots=True, kw_only=True)
class Campaign(Registration):
    """A UsAppToPerson resource: the A2P 10DLC campaign of one Messaging Service."""

    KIND = "campaign"
    LIFECYCLE = Lifecycle("IN_PROGRESS", None, "VERIFIED", "FAILED")

    messaging_service_sid: str
    brand_registration_sid: str
    details: dict[str, Any]  # what was submitted, by the resource's JSON field names
    campaign_id: str | None = None
    mock: bool = False
    errors: list[dict[str, Any]] = field(default_factory=list)

    def _forget_decision(self) -> None:
        self.errors = []

    def _on_approve(self) -> None:
        self.campaign_id = self.campaign_id or _tcr_id("C")

    def _on_reject(self, rejection: Rejection) -> None:
        self.errors = [registration_error(rejection)]


@dataclass(slots=True, kw_only=True)
class TollfreeVerification(Registration):
    KIND = "tollfree_verification"
    LIFECYCLE = Lifecycle("PENDING_REVIEW", "IN_REVIEW", "TWILIO_APPROVED", "TWILIO_REJECTED")
    EDIT_WINDOW: ClassVar[timedelta] = timedelta(days=7)  # Twilio's error 30824: seven days to edit

    tollfree_phone_number_sid: str
    tollfree_phone_number: str
    details: dict[str, Any]  # what was submitted, by the resource's JSON field names
    customer_profile_sid: str | None = None
    external_reference_id: str | None = None
    rejection_reason: str | None = None
    error_code: int | None = None
    edit_allowed: bool | None = None
    edit_expiration: datetime | None = None
    rejection_reasons: list[dict[str, Any]] | None = None

    @property
    def editable(self) -> bool:
        expired = self.edit_expiration is not None and self.edit_expiration < now()
        return self.rejected and bool(self.edit_allowed) and not expired

    def _forget_decision(self) -> None:
        self.rejection_reason = self.error_code = self.edit_allowed = None
        self.edit_expiration = self.rejection_reasons = None

    def _on_reject(self, rejection: Rejection) -> None:
        self.rejection_reason, self.error_code = rejection.reason, rejection.code
        self.edit_allowed = rejection.edit_allowed
        self.edit_expiration = now() + self.EDIT_WINDOW if rejection.edit_allowed else None
        reason = {"code": rejection.code, "reason": rejection.reason, "fields": list(rejection.fields)}
        self.rejection_reasons = [reason]


@dataclass(slots=True)
class MessagingService:
    """A pool of senders with the settings Twilio applies to messages sent and received through it."""

    sid: str
    account_sid: str
    friendly_name: str
    inbound_request_url: str | None = None
    inbound_method: str = "POST"
    fallback_url: str | None = None
    fallback_method: str = "POST"
    status_callback: str | None = None
    sticky_sender: bool = True
    mms_converter: bool = True
    smart_encoding: bool = True
    scan_message_content: str = "inherit"
    fallback_to_long_code: bool = True
    area_code_geomatch: bool = True
    validity_period: int = 14400
    synchronous_validation: bool = False
    usecase: str = "undeclared"
    use_inbound_webhook_on_number: bool = False
    senders: dict[str, datetime] = field(default_factory=dict)  # number SID -> when added, in pool order
    sticky: dict[str, str] = field(default_factory=dict)  # recipient -> number SID it was last sent from
    rotation: int = 0  # next sender of the pool for a recipient without a sticky one
    date_created: datetime = field(default_factory=now)
    date_updated: datetime = field(default_factory=now)


@dataclass
class Registry:
    """One account's registrations."""

    services: dict[str, MessagingService] = field(default_factory=dict)
    profiles: dict[str, CustomerProfile] = field(default_factory=dict)
    trust_products: dict[str, TrustProduct] = field(default_factory=dict)
    end_users: dict[str, EndUser] = field(default_factory=dict)
    documents: dict[str, SupportingDocument] = field(default_factory=dict)
    brands: dict[str, Brand] = field(default_factory=dict)
    campaigns: dict[str, Campaign] = field(default_factory=dict)
    tollfree: dict[str, TollfreeVerification] = field(default_factory=dict)

    def registrations(self) -> Iterator[Registration]:
        for records in (self.profiles, self.trust_products, self.brands, self.campaigns, self.tollfree):
            yield from records.values()

    def service_of(self, number_sid: str) -> MessagingService | None:
        return next((s for s in self.services.values() if number_sid in s.senders), None)

    def campaign_of(self, service_sid: str) -> Campaign | None:
        return next((c for c in self.campaigns.values() if c.messaging_service_sid == service_sid), None)

    def bundle(self, sid: str) -> Bundle | None:
        return self.profiles.get(sid) or self.trust_products.get(sid)

    def verification_of(self, number_sid: str) -> TollfreeVerification | None:
        """The number's latest toll-free verification."""
        found = [v for v in self.tollfree.values() if v.tollfree_phone_number_sid == number_sid]
        return found[-1] if found else None


class RegistrationStore:
    """Every account's `Registry`, by account SID."""

    def __init__(self) -> None:
        self.accounts: dict[str, Registry] = {}

    def of(self, account_sid: str) -> Registry:
        return self.accounts.setdefault(account_sid, Registry())

    def find(self, sid: str) -> Registration | None:
        """A registration of any account, for the inspection API."""
        return next((r for registry in self.accounts.values() for r in registry.registrations() if r.sid == sid), None)

    def profile_anywhere(self, sid: str) -> CustomerProfile | None:
        """A customer profile of any simulated account: an ISV's primary profile lives in its parent account."""
        return next((r.profiles[sid] for r in self.accounts.values() if sid in r.profiles), None)
