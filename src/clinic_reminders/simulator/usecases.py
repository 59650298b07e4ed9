"""Use-case catalogues the Messaging API lists: a Messaging Service's `usecase` values, and A2P 10DLC campaign
use cases (codes, names and descriptions as Twilio's UsAppToPersonUsecase example gives them; a subset)."""

from __future__ import annotations

from typing import Any

SERVICE_USECASES: tuple[tuple[str, str, str], ...] = (
    ("notifications", "Notify", "Send alerts, reminders and notifications"),
    ("marketing", "Market", "Send marketing and promotional messages"),
    ("verification", "Verify", "Send one-time passcodes and verification messages"),
    ("discussion", "Discuss", "Have two-way conversations"),
    ("poll", "Poll", "Run polls and surveys"),
    ("undeclared", "Undeclared", "No use case declared"),
)

A2P_USECASES: tuple[tuple[str, str, str, bool], ...] = (
    (
        "2FA",
        "Two-Factor authentication (2FA)",
        "Two-Factor authentication, one-time use password, password reset",
        False,
    ),
    (
        "ACCOUNT_NOTIFICATION",
        "Account Notification",
        "All reminders, alerts, and notifications. (Examples include: flight delayed, hotel booked, appointment "
        "reminders.)",
        False,
    ),
    ("CUSTOMER_CARE", "Customer Care", "All customer care messaging, including account management and support", False),
    (
        "DELIVERY_NOTIFICATION",
        "Delivery Notification",
        "Information about the status of the delivery of a product or service",
        False,
    ),
    ("FRAUD_ALERT", "Fraud Alert Messaging", "Fraud alert notification", False),
    (
        "LOW_VOLUME",
        "Low Volume Mixed",
        "Low throughput, any combination of use-cases. Examples include:  test, demo accounts",
        False,
    ),
    ("MARKETING", "Marketing", "Any communication with marketing and/or promotional content", False),
    ("MIXED", "Mixed", "Mixed messaging reserved for specific consumer service industry", False),
)


def service_usecases_json() -> dict[str, Any]:
    return {
        "usecases": [
            {"usecase": usecase, "purpose": purpose, "description": description}
            for usecase, purpose, description in SERVICE_USECASES
        ]
    }


def a2p_usecases_json() -> dict[str, Any]:
    return {
        "us_app_to_person_usecases": [
            {"code": code, "name": name, "description": description, "post_approval_required": post_approval}
            for code, name, description, post_approval in A2P_USECASES
        ]
    }
