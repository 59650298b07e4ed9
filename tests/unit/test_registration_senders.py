"""Which senders carriers would block, and the reason staff read while texts wait."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from clinic_reminders.models import Registration, RegistrationKind, RegistrationState
from clinic_reminders.registration.senders import SenderKind, hold_reason, sender_kind
from clinic_reminders.registration.states import state_of

LOCAL = "+13035550100"
TOLL_FREE = "+18445550100"
NOV_3 = datetime(2026, 11, 3, 15, 0, tzinfo=UTC)
K, S = RegistrationKind, RegistrationState


def registration(kind: RegistrationKind, state: RegistrationState, subject: str = "", **fields: object) -> Registration:
    fields.setdefault("problems", [])
    return Registration(kind=kind, state=state, subject=subject, state_changed_at=NOV_3, **fields)


@pytest.mark.parametrize(
    ("number", "kind"),
    [
        (LOCAL, SenderKind.LOCAL),
        (TOLL_FREE, SenderKind.TOLL_FREE),
        ("+18005550199", SenderKind.TOLL_FREE),
        ("+15005550006", SenderKind.EXEMPT),  # Twilio's test From
        ("+16135550100", SenderKind.EXEMPT),  # Canada
        ("+447700900123", SenderKind.EXEMPT),
        ("12345", SenderKind.EXEMPT),  # a short code
    ],
)
def test_it_tells_which_numbers_need_registration(number: str, kind: SenderKind) -> None:
    assert sender_kind(number) is kind


def test_it_holds_texts_from_a_local_number_of_an_office_that_never_registered() -> None:
    assert hold_reason(LOCAL, []) == "texts wait for carrier registration: brand not submitted yet"


def test_it_says_since_when_the_brand_is_in_review() -> None:
    brand = registration(K.BRAND, S.PENDING, submitted_at=NOV_3)
    assert hold_reason(LOCAL, [brand]) == "texts wait for carrier registration: brand in review since Nov 3"


def test_it_waits_for_the_campaign_once_the_brand_is_approved() -> None:
    found = [registration(K.BRAND, S.APPROVED), registration(K.CAMPAIGN, S.PENDING, submitted_at=NOV_3)]
    assert hold_reason(LOCAL, found) == "texts wait for carrier registration: campaign in review since Nov 3"


def test_it_names_a_rejection() -> None:
    found = [registration(K.BRAND, S.FAILED)]
    assert hold_reason(LOCAL, found) == "texts wait for carrier registration: brand rejected on Nov 3"


def test_it_sends_once_brand_and_campaign_are_approved() -> None:
    assert hold_reason(LOCAL, [registration(K.BRAND, S.APPROVED), registration(K.CAMPAIGN, S.APPROVED)]) is None


def test_a_toll_free_number_needs_its_own_verification_not_the_campaign() -> None:
    approved_10dlc = [registration(K.BRAND, S.APPROVED), registration(K.CAMPAIGN, S.APPROVED)]
    assert hold_reason(TOLL_FREE, approved_10dlc) == (
        "texts wait for carrier registration: toll-free verification not submitted yet"
    )
    verified = registration(K.TOLLFREE, S.APPROVED, subject=TOLL_FREE)
    assert hold_reason(TOLL_FREE, [verified]) is None
    other = registration(K.TOLLFREE, S.APPROVED, subject="+18775550100")
    assert hold_reason(TOLL_FREE, [other]) is not None


def test_a_carrier_block_holds_a_sender_whatever_the_registrations_say() -> None:
    block = registration(K.CARRIER_BLOCK, S.FAILED, subject=LOCAL, problems=[{"code": 30034}])
    found = [registration(K.BRAND, S.APPROVED), registration(K.CAMPAIGN, S.APPROVED), block]
    assert hold_reason(LOCAL, found) == (
        "texts wait for carrier registration: carriers refused texts from (303) 555-0100 on Nov 3 (Twilio error 30034)"
    )
    block.state = S.APPROVED  # lifted
    assert hold_reason(LOCAL, found) is None


def test_test_numbers_and_foreign_numbers_are_never_held() -> None:
    assert hold_reason("+15005550006", []) is None
    assert hold_reason("+447700900123", []) is None


@pytest.mark.parametrize(
    ("kind", "twilio_status", "state"),
    [
        (K.BRAND, "IN_REVIEW", S.PENDING),
        (K.BRAND, "APPROVED", S.APPROVED),
        (K.BRAND, "SUSPENDED", S.FAILED),
        (K.CAMPAIGN, "VERIFIED", S.APPROVED),
        (K.CAMPAIGN, "IN_PROGRESS", S.PENDING),
        (K.TOLLFREE, "TWILIO_REJECTED", S.FAILED),
        (K.CUSTOMER_PROFILE, "draft", S.DRAFT),
        (K.TRUST_PRODUCT, "twilio-approved", S.APPROVED),
        (K.CAMPAIGN, "SOMETHING_NEW", S.PENDING),  # unknown words keep texts waiting
        (K.BRAND, None, S.DRAFT),
    ],
)
def test_it_maps_twilios_statuses(kind: RegistrationKind, twilio_status: str | None, state: RegistrationState) -> None:
    assert state_of(kind, twilio_status) is state
