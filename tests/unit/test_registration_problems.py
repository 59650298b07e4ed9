"""Twilio's registration errors, in each of its shapes, become problems with the profile field at fault and a fix."""

from __future__ import annotations

import pytest

from clinic_reminders.registration import fees, problems


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (  # a brand's errors
            {"code": 21736, "description": "The Brand contact email is invalid.", "fields": ["brand_contact_email"]},
            {"code": 21736, "field": "contact_email", "description": "the brand's contact email is invalid"},
        ),
        (  # a campaign's errors name Twilio's fields in capitals
            {"error_code": 31000, "description": "Opt-in is unclear", "fields": ["MESSAGE_FLOW"]},
            {"code": 31000, "field": "consent_flow", "description": "Opt-in is unclear"},
        ),
        (  # a code we know, without fields: the table says which field
            {"code": 30799},
            {"code": 30799, "field": "ein", "description": problems.KNOWN[30799].meaning},
        ),
        ({}, {"code": None, "field": "", "description": "Twilio did not say why"}),
    ],
)
def test_it_reads_each_shape_of_twilios_errors(item: dict[str, object], expected: dict[str, object]) -> None:
    assert problems.problem(item) == expected


def test_it_lists_each_invalid_field_of_a_failed_evaluation() -> None:
    results = [
        {"passed": True, "invalid": []},
        {
            "passed": False,
            "error_code": 22214,
            "invalid": [
                {
                    "object_field": "business_name",
                    "failure_reason": "The Business Name is missing.",
                    "error_code": 22215,
                },
                {"object_field": "job_position", "failure_reason": "missing", "error_code": 22215},
            ],
        },
    ]
    found = problems.from_evaluation(results)
    assert [(p["code"], p["field"]) for p in found] == [(22215, "legal_name"), (22215, "contact_job_position")]
    assert "Twilio error 22215" in problems.summary(found) and "(field: legal_name)" in problems.summary(found)


def test_it_gives_a_fix_for_known_codes_and_twilios_page_for_others() -> None:
    assert "in a minute" in problems.fix({"code": 30791})
    assert "twilio.com/docs/api/errors/31999" in problems.fix({"code": 31999})


def test_the_fees_are_quoted_with_their_page() -> None:
    standard = fees.described(fees.a2p_fees(low_volume=False))
    assert "$40" in standard and "support.twilio.com/hc/en-us/articles/11587910480155" in standard
    assert fees.SECONDARY_VETTING not in fees.a2p_fees(low_volume=True)
