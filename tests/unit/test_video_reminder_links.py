"""A video visit cannot be joined without its link: every reminder text of one carries the patient's link, even
when the link does not fit the richest text or the office wrote its own template without it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from clinic_reminders.messaging.compose import render_sms, sample_context

SHORT = "http://127.0.0.1:8080/p/1AbCdEfGh_"
LONG = "https://reminders.riverside-family-medicine.example.com/p/1AbCdEfGh_"


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("link", [SHORT, LONG])
def test_a_video_visits_text_always_carries_the_link(language: str, link: str) -> None:
    ctx = replace(sample_context(language), kind="telehealth", link=link)
    rendered = render_sms(None, ctx)
    assert link in rendered.body
    assert "Riverside Family Medicine" in rendered.body and "(303) 555-0100" in rendered.body  # FCC: who and how
    assert "STOP=" in rendered.body


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_short_link_keeps_a_video_visits_text_in_one_segment(language: str) -> None:
    """The answer options give way to the link's page (where the patient confirms or cancels) to stay in one."""
    rendered = render_sms(None, replace(sample_context(language), kind="telehealth", link=SHORT))
    assert rendered.segments.segments == 1 and SHORT in rendered.body


def test_an_in_person_visits_text_still_drops_a_link_that_does_not_fit() -> None:
    rendered = render_sms(None, replace(sample_context("en"), link=LONG))
    assert LONG not in rendered.body and rendered.segments.segments == 1


def test_an_office_template_without_the_link_gets_it_for_a_video_visit() -> None:
    template = "{{ first_name }}: {{ clinic }}, {{ when }}. {{ options }}. {{ clinic_phone }}. STOP=opt out"
    video = render_sms(template, replace(sample_context("en"), kind="telehealth", link=SHORT))
    assert video.body.endswith(f"STOP=opt out {SHORT}")
    in_person = render_sms(template, replace(sample_context("en"), link=SHORT))
    assert SHORT not in in_person.body  # the office chose to leave it out
    with_link = render_sms(template + " {{ link }}", replace(sample_context("en"), kind="telehealth", link=SHORT))
    assert with_link.body.count(SHORT) == 1
