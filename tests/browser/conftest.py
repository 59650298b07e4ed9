"""The browser tests' Chromium and page, shared by every module here (defined with the staff pages' tests)."""

from tests.browser.test_staff_pages import chromium, page  # noqa: F401  (fixtures)
