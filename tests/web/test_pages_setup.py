"""The set-up checklist page runs the doctor's checks and shows each result, explanation and fix as text."""

from __future__ import annotations

import re

from fastapi import FastAPI

from tests.web.pages import PageClient


def _check(html: str, check_id: str) -> str:
    found = re.search(rf'<li class="check (\w+)" id="check-{re.escape(check_id)}".*?</li>', html, re.S)
    assert found, f"no {check_id} on the page"
    return found.group(0)


def test_the_set_up_page_shows_each_checks_live_result_and_fix(admin_pages: PageClient) -> None:
    html = admin_pages.get("/setup").text
    account = _check(html, "settings.twilio_account")
    assert 'class="check failed"' in account and ">fail</span>" in account
    assert "How to fix:" in account and '<a href="/config#f-twilio_account_sid">Open the setting</a>' in account
    assert "<code>reminders setup twilio</code>" in account  # backticks are code, not raw
    assert "`" not in re.sub(r"<script.*?</script>", "", html, flags=re.S)
    secret = _check(html, "settings.secret_key")
    assert ">pass</span>" in secret and "How to fix" not in secret
    assert "Needs attention." in html and '<button type="submit" class="primary">Check again</button>' in html
    assert 'href="/api/setup/checks"' not in html  # no link to raw JSON


def test_check_again_sees_a_fixed_setting(app: FastAPI, admin_pages: PageClient) -> None:
    assert 'class="check failed"' in _check(admin_pages.get("/setup").text, "settings.public_url")
    app.state.settings = app.state.settings.model_copy(update={"public_url": "https://clinic.example.com"})
    assert 'class="check ok"' in _check(admin_pages.get("/setup").text, "settings.public_url")
