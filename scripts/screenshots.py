#!/usr/bin/env python3
"""Take the README's screenshots (docs/screenshots/) from a running demo, in Debian's Chromium.

    make demo                                   # in one terminal: the demo office with a month of history
    .venv/bin/python scripts/screenshots.py     # in another: signs in as the demo's admin and takes each page

`--url` points at another demo (default http://127.0.0.1:8080), `--out` at another folder. The pictures are of
the demo's fictional office only. Playwright drives /usr/bin/chromium (`make chromium`); it never downloads one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from clinic_reminders import demo

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
# (file, page, what must be on it before the picture is taken)
SHOTS = (
    ("schedule.png", "/schedule", "table.schedule"),
    ("booking.png", "/appointments/new", "form.booking"),
    ("inbox.png", "/inbox", "table.conversations"),
    ("dashboard.png", "/dashboard", "canvas"),
    ("setup.png", "/setup", ".setup-summary"),
    ("registration.png", "/config/registration", "form"),
)


def sign_in(page: Page, url: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("Email").fill(demo.DEMO_ADMIN_EMAIL)
    page.get_by_label("Password").fill(demo.DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/schedule**")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="the running demo")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots", help="where the pictures go")
    args = parser.parse_args()
    url = args.url.rstrip("/")
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
        sign_in(page, url)
        for name, path, ready in SHOTS:
            page.goto(f"{url}{path}")
            page.locator(ready).first.wait_for()
            page.wait_for_timeout(800)  # charts finish their animation
            page.screenshot(path=str(args.out / name))
            print(f"took {path} -> {args.out / name}")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
