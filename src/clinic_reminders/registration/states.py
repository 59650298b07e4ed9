"""Twilio's registration statuses, in its several vocabularies, as our four states."""

from __future__ import annotations

from ..models import RegistrationKind, RegistrationState

D, P, A, F = RegistrationState.DRAFT, RegistrationState.PENDING, RegistrationState.APPROVED, RegistrationState.FAILED

_TRUST_HUB = {"draft": D, "pending-review": P, "in-review": P, "twilio-approved": A, "twilio-rejected": F}
# Twilio's word for each kind of resource -> ours. A word not listed reads as pending: texts keep waiting until
# someone looks, rather than going out into a block.
TWILIO_STATES: dict[RegistrationKind, dict[str, RegistrationState]] = {
    RegistrationKind.CUSTOMER_PROFILE: _TRUST_HUB,
    RegistrationKind.TRUST_PRODUCT: _TRUST_HUB,
    RegistrationKind.BRAND: {
        "PENDING": P,
        "IN_REVIEW": P,
        "APPROVED": A,
        "FAILED": F,
        "SUSPENDED": F,
        "DELETION_PENDING": F,
        "DELETION_FAILED": F,
    },
    RegistrationKind.CAMPAIGN: {
        "PENDING": P,
        "IN_PROGRESS": P,
        "VERIFIED": A,
        "FAILED": F,
        "SUSPENDED": F,
        "EXPIRED": F,
    },
    RegistrationKind.TOLLFREE: {"PENDING_REVIEW": P, "IN_REVIEW": P, "TWILIO_APPROVED": A, "TWILIO_REJECTED": F},
}


def state_of(kind: RegistrationKind | str, twilio_status: str | None) -> RegistrationState:
    """Our state for Twilio's status of a resource of `kind`."""
    if not twilio_status:
        return D
    return TWILIO_STATES.get(RegistrationKind(kind), {}).get(twilio_status, P)
