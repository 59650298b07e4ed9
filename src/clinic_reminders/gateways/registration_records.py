"""What the registration gateway returns: Messaging Services, Trust Hub bundles, A2P 10DLC brands and campaigns,
toll-free verifications. They hold the office's business data, never a patient's.

`errors` keeps Twilio's own items as they came (dicts with a code, a description and the fields at fault):
registration/problems.py turns them into our problems with a fix for each known code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class MessagingService:
    sid: str
    friendly_name: str
    inbound_request_url: str | None
    inbound_method: str | None
    status_callback: str | None
    sticky_sender: bool
    use_inbound_webhook_on_number: bool
    us_app_to_person_registered: bool


@dataclass(frozen=True, slots=True)
class ServiceSender:
    """A phone number in a Messaging Service's sender pool; `sid` is the number's own PN... SID."""

    sid: str
    phone_number: str


@dataclass(frozen=True, slots=True)
class Bundle:
    """A Trust Hub customer profile or trust product (both BU...)."""

    sid: str
    friendly_name: str
    policy_sid: str
    status: str  # draft, pending-review, in-review, twilio-approved, twilio-rejected
    errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Twilio's check of a bundle against its policy; `results` lists each requirement with what is invalid."""

    sid: str
    status: str  # compliant or noncompliant
    results: list[dict[str, Any]] = field(default_factory=list)

    @property
    def compliant(self) -> bool:
        return self.status == "compliant"


@dataclass(frozen=True, slots=True)
class Assignment:
    sid: str  # BV...
    object_sid: str


@dataclass(frozen=True, slots=True)
class Brand:
    sid: str  # BN...
    status: str  # PENDING, IN_REVIEW, APPROVED, FAILED, SUSPENDED...
    customer_profile_bundle_sid: str
    a2p_profile_bundle_sid: str
    brand_type: str
    failure_reason: str | None
    errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Campaign:
    """An A2P 10DLC campaign (UsAppToPerson, QE...) on a Messaging Service."""

    sid: str
    status: str  # campaign_status: IN_PROGRESS, VERIFIED, FAILED...
    brand_registration_sid: str
    messaging_service_sid: str
    use_case: str
    errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TollfreeVerification:
    sid: str  # HH...
    status: str  # PENDING_REVIEW, IN_REVIEW, TWILIO_APPROVED, TWILIO_REJECTED
    phone_number: str
    phone_number_sid: str
    rejection_reason: str | None
    error_code: int | None
    edit_allowed: bool
    rejection_reasons: list[dict[str, Any]] = field(default_factory=list)
