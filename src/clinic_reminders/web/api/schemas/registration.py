"""The office's business profile for US carrier registration, and where its registrations stand."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, ValidationInfo, field_validator

from ....registration.profile import check_field
from .common import ReadSchema, Schema


def _checked(value: str | None, info: ValidationInfo) -> str | None:
    return None if value is None else check_field(str(info.field_name), value)


class BusinessProfileUpdate(Schema):
    """Only the fields sent change; "" empties a field (the profile is filled in over time)."""

    legal_name: str | None = Field(default=None, max_length=200, description="As on the IRS letter (CP 575).")
    business_type: str | None = Field(
        default=None,
        max_length=40,
        description="Sole Proprietorship, Partnership, Limited Liability Corporation, Co-operative, Non-profit "
        "Corporation or Corporation.",
    )
    ein: str | None = Field(default=None, max_length=10, examples=["12-3456789"])
    street: str | None = Field(default=None, max_length=200)
    street2: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=100)
    region: str | None = Field(default=None, max_length=50, description="The state's two-letter code.")
    postal_code: str | None = Field(default=None, max_length=20)
    website: str | None = Field(default=None, max_length=300)
    privacy_policy_url: str | None = Field(default=None, max_length=300)
    terms_url: str | None = Field(default=None, max_length=300, description="The terms and conditions page.")
    contact_first_name: str | None = Field(default=None, max_length=100)
    contact_last_name: str | None = Field(default=None, max_length=100)
    contact_title: str | None = Field(default=None, max_length=100)
    contact_job_position: str | None = Field(
        default=None, max_length=20, description="Director, GM, VP, CEO, CFO or General Counsel."
    )
    contact_email: str | None = Field(default=None, max_length=254)
    contact_phone: str | None = Field(default=None, max_length=40, description="E.164, e.g. +13035550142.")
    consent_flow: str | None = Field(
        default=None,
        max_length=2048,
        description="How patients agree to get texts, e.g. 'Patients give their mobile number on the intake form, "
        "which says the office will text appointment reminders and that they can reply STOP'.",
    )
    opt_in_type: str | None = Field(
        default=None,
        max_length=20,
        description="For a toll-free number: VERBAL, WEB_FORM, PAPER_FORM, VIA_TEXT or MOBILE_QR_CODE.",
    )
    opt_in_url: str | None = Field(
        default=None, max_length=300, description="For a toll-free number: a public page or image of the consent."
    )
    monthly_volume: int | None = Field(default=None, ge=1, le=10_000_000, description="Texts a month, expected.")

    _check = field_validator(
        "business_type",
        "ein",
        "region",
        "postal_code",
        "website",
        "privacy_policy_url",
        "terms_url",
        "contact_job_position",
        "opt_in_type",
        "opt_in_url",
        "contact_email",
        "contact_phone",
        "consent_flow",
    )(_checked)


class BusinessProfileRead(ReadSchema):
    legal_name: str
    business_type: str
    ein: str
    street: str
    street2: str
    city: str
    region: str
    postal_code: str
    country: str
    website: str
    privacy_policy_url: str
    terms_url: str
    contact_first_name: str
    contact_last_name: str
    contact_title: str
    contact_job_position: str
    contact_email: str
    contact_phone: str
    consent_flow: str
    opt_in_type: str
    opt_in_url: str
    monthly_volume: int


class RegistrationStatus(ReadSchema):
    kind: str = Field(description="customer_profile, trust_product, brand, campaign, tollfree or carrier_block.")
    subject: str = Field(description="The number, for a toll-free verification or a carrier block.")
    state: str = Field(description="draft, pending, approved or failed.")
    twilio_sid: str | None
    twilio_status: str | None = Field(description="Twilio's own word for it.")
    submitted_at: datetime | None
    state_changed_at: datetime
    checked_at: datetime | None
    problems: list[dict[str, Any]] = Field(description="Twilio's error codes, the field at fault and the fix.")


class CampaignPreview(Schema):
    samples: list[str]
    help_message: str
    opt_out_message: str
    opt_in_message: str


class RegistrationRead(Schema):
    profile: BusinessProfileRead
    missing: dict[str, str] = Field(description="Field -> what is missing or wrong before registration can start.")
    messaging_service_sid: str | None
    registrations: list[RegistrationStatus]
    campaign: CampaignPreview = Field(description="What the campaign registers: generated from the office's texts.")
