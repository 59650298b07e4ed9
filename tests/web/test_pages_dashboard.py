"""The dashboard's figures for a period and clinic, its charts' data and the CSV export."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, timedelta

from tests.web.pages import Day, PageClient, day_query


def period(day: Day) -> str:
    """From today (when the texts went out) to the appointments' day."""
    last = date.fromisoformat(day_query(day))
    return f"start={(last - timedelta(days=2)).isoformat()}&end={last.isoformat()}"


def test_it_shows_the_rates_a_manager_asks_about(admin_pages: PageClient, day: Day) -> None:
    html = admin_pages.get(f"/dashboard?{period(day)}").text
    kpis = re.findall(r'<span class="value">([^<]+)</span><span class="label">([^<(]+)', html)
    by_label = {label.strip(): value for value, label in kpis}
    assert by_label["confirmed by the patient"] == "25.0 %"  # 1 of the 4 reminded
    assert by_label["cancellations caught by reminders"] == "1"
    assert by_label["texts delivered"] == "75.0 %"  # 3 of 4 with a final status
    assert by_label["opt-outs"] == "1"
    assert by_label["texts sent / answers received"] == "4 / 3"
    assert by_label["Twilio cost"] == "$0.03"  # 4 x 0.0079 as Twilio priced them


def test_charts_get_their_data_and_a_clinic_narrows_it(admin_pages: PageClient, day: Day) -> None:
    html = admin_pages.get(f"/dashboard?{period(day)}&clinic_id={day.other_clinic.id}").text
    answers = json.loads(re.search(r'id="chart-answers">(.*?)</script>', html, re.S).group(1))  # type: ignore[union-attr]
    assert answers["type"] == "bar" and len(answers["data"]["labels"]) == 3
    assert [d["label"] for d in answers["data"]["datasets"]] == ["Confirmed", "Cancelled or moved", "No answer"]
    outcomes = json.loads(re.search(r'id="chart-outcomes">(.*?)</script>', html, re.S).group(1))  # type: ignore[union-attr]
    assert outcomes["data"]["labels"] == ["scheduled"] and outcomes["data"]["datasets"][0]["data"] == [1]
    assert "Lakeside Pediatrics" in html


def test_the_csv_has_a_row_per_day_and_a_total(admin_pages: PageClient, day: Day) -> None:
    response = admin_pages.get(f"/dashboard.csv?{period(day)}")
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 4 and rows[-1]["day"] == "total"
    total = rows[-1]
    assert (total["appointments"], total["reminded"], total["confirmed_by_patient"]) == ("6", "4", "1")
    assert (total["texts_sent"], total["texts_delivered"], total["texts_failed"]) == ("4", "3", "1")
    assert total["cost_usd"] == "0.0316"


def test_a_period_without_anything_shows_dashes_not_errors(admin_pages: PageClient) -> None:
    html = admin_pages.get("/dashboard?start=2020-01-01&end=2020-01-07").text
    assert html.count('<span class="value">–</span>') == 2  # no rate without something to divide by
    backwards = admin_pages.get("/dashboard?start=2020-02-01&end=2020-01-01")
    assert backwards.status_code == 200
