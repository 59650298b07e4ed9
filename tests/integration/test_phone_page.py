"""The demo's phone page: patients by name, times on the clinic's clock, and the history kept across restarts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from starlette.testclient import TestClient

from clinic_reminders.simulator import SimulatorConfig, create_simulator_app
from clinic_reminders.simulator.phone_book import PhoneBook
from clinic_reminders.simulator.state import Message

OURS, ANA, BEN = "+15005550006", "+13035550101", "+13035550102"


def _text(app: object, sid: str, to: str, from_: str, body: str) -> None:
    at = datetime(2030, 1, 15, 16, 5, tzinfo=UTC)  # 9:05 AM in Denver
    message = Message(sid, "AC1", to, from_, body, "outbound-api", "delivered", at, at)
    app.simulator.store.messages[sid] = message  # type: ignore[attr-defined]


def _book(tmp_path: Path) -> PhoneBook:
    names = {ANA: "Ana López", BEN: "Ben Hall"}
    return PhoneBook(names=lambda: names, zone="America/Denver", history_file=tmp_path / "var" / "phones.json")


def test_the_phone_page_lists_patients_by_name_with_local_times(tmp_path: Path) -> None:
    app = create_simulator_app(SimulatorConfig.for_account(phone_numbers=[OURS]), _book(tmp_path))
    _text(app, "SM1", ANA, OURS, "Reminder: your visit tomorrow")
    with TestClient(app) as client:
        page = client.get("/simulator/", params={"phone": ANA}).text
    assert '>Ana López<span class="num">+13035550101</span></a>' in page
    assert "Other patients" in page and "Ben Hall" in page  # not texted yet, still there to pick
    assert "Tue 9:05 AM MST · delivered" in page and "<h1>Ana López <small>+13035550101</small></h1>" in page


def test_the_history_outlives_a_restart(tmp_path: Path) -> None:
    first = create_simulator_app(SimulatorConfig.for_account(phone_numbers=[OURS]), _book(tmp_path))
    _text(first, "SM1", ANA, OURS, "Reminder: your visit tomorrow")
    with TestClient(first) as client:
        client.get("/simulator/", params={"phone": ANA, "partial": "log"})  # the page's refresh saves
    again = create_simulator_app(SimulatorConfig.for_account(phone_numbers=[OURS]), _book(tmp_path))
    with TestClient(again) as client:
        page = client.get("/simulator/", params={"phone": ANA}).text
    assert "Reminder: your visit tomorrow" in page and 'class="row earlier"' in page


def test_without_a_phone_book_the_page_shows_numbers_and_keeps_nothing(tmp_path: Path) -> None:
    app = create_simulator_app(SimulatorConfig.for_account(phone_numbers=[OURS]))
    _text(app, "SM1", ANA, OURS, "hi")
    with TestClient(app) as client:
        page = client.get("/simulator/", params={"phone": ANA, "partial": "phones"}).text
    assert f">{ANA}</a>" in page and "Other patients" not in page
    assert not list(tmp_path.iterdir())
