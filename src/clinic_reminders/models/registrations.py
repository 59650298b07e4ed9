"""US carrier registration: what the office tells carriers about itself (its business profile), and where each of
its registrations stands at Twilio (Trust Hub profiles, the A2P 10DLC brand and campaign, toll-free verifications).

Carriers block application texts from a local number outside an approved A2P 10DLC campaign (Twilio error 30034)
and from an unverified toll-free number (30032). The dispatcher reads these rows to hold texts that would be
blocked (registration/senders.py); `reminders setup twilio --register` writes them as it submits, and the running
service refreshes them from Twilio.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, OfficeOwned, Timestamps, UTCDateTime, utcnow


class BusinessType(StrEnum):
    """Trust Hub's `business_type` values (Twilio's "Gather business information" page)."""

    SOLE_PROPRIETORSHIP = "Sole Proprietorship"
    PARTNERSHIP = "Partnership"
    LLC = "Limited Liability Corporation"
    CO_OPERATIVE = "Co-operative"
    NON_PROFIT = "Non-profit Corporation"
    CORPORATION = "Corporation"


class JobPosition(StrEnum):
    """Trust Hub's `job_position` of the authorized representative (Twilio's ISV onboarding guide)."""

    DIRECTOR = "Director"
    GM = "GM"
    VP = "VP"
    CEO = "CEO"
    CFO = "CFO"
    GENERAL_COUNSEL = "General Counsel"


class OptInType(StrEnum):
    """How patients agree to texts, in the words of Twilio's toll-free verification (`OptInType`)."""

    VERBAL = "VERBAL"
    WEB_FORM = "WEB_FORM"
    PAPER_FORM = "PAPER_FORM"
    VIA_TEXT = "VIA_TEXT"
    MOBILE_QR_CODE = "MOBILE_QR_CODE"


class RegistrationKind(StrEnum):
    CUSTOMER_PROFILE = "customer_profile"  # Trust Hub secondary customer profile: the business and its people
    TRUST_PRODUCT = "trust_product"  # Trust Hub A2P messaging profile: company type, stock listing
    BRAND = "brand"  # A2P 10DLC BrandRegistration, reviewed by The Campaign Registry
    CAMPAIGN = "campaign"  # A2P 10DLC campaign (UsAppToPerson) on the office's Messaging Service
    TOLLFREE = "tollfree"  # a toll-free number's verification; `subject` is the number
    CARRIER_BLOCK = "carrier_block"  # carriers refused texts from `subject` (30034/30032) although we thought not


class RegistrationState(StrEnum):
    """Ours, across Twilio's several vocabularies (registration/states.py maps them)."""

    DRAFT = "draft"  # created at Twilio, not submitted yet
    PENDING = "pending"  # submitted: waiting for or in review
    APPROVED = "approved"
    FAILED = "failed"  # rejected, failed or suspended: `problems` says why; a person must correct something


class BusinessProfile(OfficeOwned, Timestamps, Base):
    """What registration submits about the office (one row per office), as the configuration page edits it."""

    __tablename__ = "business_profiles"
    __table_args__ = (UniqueConstraint("office_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    legal_name: Mapped[str] = mapped_column(String(200), default="")
    business_type: Mapped[str] = mapped_column(String(40), default="")
    ein: Mapped[str] = mapped_column(String(10), default="")  # "12-3456789"
    street: Mapped[str] = mapped_column(String(200), default="")
    street2: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    region: Mapped[str] = mapped_column(String(50), default="")  # state, as its two-letter code
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    country: Mapped[str] = mapped_column(String(2), default="US")
    website: Mapped[str] = mapped_column(String(300), default="")
    privacy_policy_url: Mapped[str] = mapped_column(String(300), default="")
    terms_url: Mapped[str] = mapped_column(String(300), default="")  # terms and conditions (campaign vetting)
    contact_first_name: Mapped[str] = mapped_column(String(100), default="")
    contact_last_name: Mapped[str] = mapped_column(String(100), default="")
    contact_title: Mapped[str] = mapped_column(String(100), default="")
    contact_job_position: Mapped[str] = mapped_column(String(20), default="")  # JobPosition
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    contact_phone: Mapped[str] = mapped_column(String(20), default="")  # E.164
    # How patients agree to get texts, as the campaign's "message flow" tells carriers.
    consent_flow: Mapped[str] = mapped_column(Text, default="")
    # Toll-free verification also wants the kind of consent and a public page or image that shows it.
    opt_in_type: Mapped[str] = mapped_column(String(20), default="")  # OptInType
    opt_in_url: Mapped[str] = mapped_column(String(300), default="")
    monthly_volume: Mapped[int] = mapped_column(Integer, default=1000)  # texts a month, expected


class Registration(OfficeOwned, Timestamps, Base):
    """One registration resource at Twilio and its latest known status."""

    __tablename__ = "registrations"
    __table_args__ = (UniqueConstraint("office_id", "kind", "subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # RegistrationKind
    subject: Mapped[str] = mapped_column(String(20), default="")  # the number, for toll-free and carrier blocks
    twilio_sid: Mapped[str | None] = mapped_column(String(34))
    twilio_status: Mapped[str | None] = mapped_column(String(40))  # Twilio's own word: IN_REVIEW, twilio-rejected...
    state: Mapped[str] = mapped_column(String(10), default=RegistrationState.DRAFT)  # RegistrationState
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    state_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # last read from Twilio
    # What Twilio says is wrong: [{"code": 21736, "field": "contact_email", "description": "..."}], no patient data.
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # SIDs of the parts created on the way (end users, documents, assignments), so that a re-run resumes.
    parts: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
