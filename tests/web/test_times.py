"""One rule for time: every time a person reads on the staff pages is on the clinic's clock, with its zone, and
reads the same as on the schedule.

The office's first clinic is in Denver; the visits are in Chicago and Kolkata (neither the first clinic's zone
nor this machine's). Every page that shows them is read, and every clock time on it must sit in a `<time>`
element whose text is the schedule's for that instant.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from clinic_reminders import planning
from clinic_reminders.models import ConsentAction, ConsentEvent, Direction, Office, utcnow
from tests.factories import make_appointment, make_clinic, make_message, make_patient, make_provider
from tests.web.pages import PageClient

CHICAGO, KOLKATA = "America/Chicago", "Asia/Kolkata"
TIME_TAG = re.compile(r'<time datetime="([^"]+)">([^<]*)</time>')
CLOCK = re.compile(r"\b\d{1,2}:\d\d\s?[AP]M\b(?:\s+[A-Z][A-Z0-9+:-]{1,7})?")


def clock_of(text: str) -> str | None:
    """ "Tue Jan 14, 4:00 PM CST" -> "4:00 PM CST"; None for a date alone."""
    found = CLOCK.findall(unescape(text))
    return found[-1] if found else None


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", html))


def times_of(html: str) -> dict[datetime, set[str]]:
    """Each instant in a <time> element with a clock, and how the page wrote its clock."""
    found: dict[datetime, set[str]] = {}
    for instant, text in TIME_TAG.findall(html):
        if (shown := clock_of(text)) is not None:
            found.setdefault(datetime.fromisoformat(instant).astimezone(UTC), set()).add(shown)
    return found


def untagged_clocks(html: str) -> list[str]:
    """Clock times a person reads that are not inside a <time> element."""
    return CLOCK.findall(visible_text(TIME_TAG.sub(" ", html)))


def minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


@pytest.fixture
def office_day(session: Session, office: Office) -> dict[str, int | str]:
    """Two visits on the same local day, two days ahead, with reminders planned, a text sent and answers."""
    assert datetime.now().astimezone().tzname() not in ("CST", "CDT", "IST"), "pick zones this machine is not in"
    planning.ensure_default_rules(session, office)
    make_clinic(session, office, name="Riverside", timezone="America/Denver", phone="+13035550100")
    lakeside = make_clinic(session, office, name="Lakeside", timezone=CHICAGO, phone="+13125550100")
    marine = make_clinic(session, office, name="Marine Drive", timezone=KOLKATA, phone="+13125550101")
    provider = make_provider(session, office, lakeside)
    ana = make_patient(session, office, "Ana", "Lopez", phone="+13125550142")
    ravi = make_patient(session, office, "Ravi", "Shah", phone="+13125550143")
    day = (datetime.now(ZoneInfo(CHICAGO)) + timedelta(days=2)).date()
    at = {
        "ana": datetime.combine(day, time(16, 0), ZoneInfo(CHICAGO)),
        "ravi": datetime.combine(day, time(10, 30), ZoneInfo(KOLKATA)),
    }
    visits = {
        "ana": make_appointment(session, lakeside, ana, provider, starts_at=at["ana"]),
        "ravi": make_appointment(session, marine, ravi, starts_at=at["ravi"], kind="telehealth"),
    }
    sent_at, answered_at = minute(utcnow() - timedelta(hours=3)), minute(utcnow() - timedelta(hours=2))
    for offset, (key, patient) in enumerate((("ana", ana), ("ravi", ravi))):
        appointment = visits[key]
        sent_at, answered_at = sent_at + timedelta(minutes=7 * offset), answered_at + timedelta(minutes=7 * offset)
        body = "Your visit. Reply 1 confirm, 2 cancel, 3 reschedule"
        make_message(session, office, appointment=appointment, body=body, created_at=sent_at)
        make_message(
            session,
            office,
            appointment=appointment,
            direction=Direction.INBOUND,
            body="can I come earlier?",
            interpretation="unknown",
            needs_person=True,
            unread=True,
            created_at=answered_at,
        )
        session.add(
            ConsentEvent(
                office_id=office.id,
                patient_id=patient.id,
                channel="sms",
                action=ConsentAction.CONSENT,
                source="staff:1",
                at=answered_at,
            )
        )
    session.commit()
    return {
        "day": day.isoformat(),
        "ana": ana.id,
        "ravi": ravi.id,
        "ana_visit": visits["ana"].id,
        "ravi_visit": visits["ravi"].id,
        "chicago": lakeside.id,
    }


def test_every_page_shows_each_time_as_the_schedule_does(
    staff_pages: PageClient, office_day: dict[str, int | str]
) -> None:
    d = office_day
    schedule = staff_pages.get(f"/schedule?day={d['day']}").text
    reference = times_of(schedule)
    assert untagged_clocks(schedule) == []
    shown = {text for texts in reference.values() for text in texts}
    assert "4:00 PM CST" in shown or "4:00 PM CDT" in shown
    assert "10:30 AM IST" in shown
    # One instant, one reading per zone (two clinics' reminders can fall on the same instant).
    assert all(len(texts) == len({text.split()[-1] for text in texts}) for texts in reference.values()), reference
    ids = f"{d['ana_visit']},{d['ravi_visit']}"
    fragments = {
        "/schedule/changes": staff_pages.get(f"/schedule/changes?since=2000-01-01T00:00:00%2B00:00&ids={ids}").json()[
            "rows"
        ],
        "/inbox/{ana}/updates": staff_pages.get(f"/inbox/{d['ana']}/updates?since=2000-01-01T00:00:00%2B00:00").json()[
            "messages"
        ],
    }
    urls = [
        f"/schedule?day={d['day']}&clinic_id={d['chicago']}",
        f"/schedule?day={d['day']}&days=3",
        "/patients",
        f"/patients/{d['ana']}",
        f"/patients/{d['ravi']}",
        "/inbox",
        "/inbox/list",
        f"/inbox/{d['ana']}",
        f"/inbox/{d['ravi']}",
        f"/appointments/{d['ana_visit']}/edit",
        f"/appointments/{d['ravi_visit']}/edit",
        f"/video/visit/{d['ravi_visit']}",
    ]
    read = {url: staff_pages.get(url).text for url in urls}
    read |= {name: "".join(parts.values()) for name, parts in fragments.items()}
    for url, html in read.items():
        assert untagged_clocks(html) == [], f"{url} shows a time without its instant"
        for instant, texts in times_of(html).items():
            assert instant in reference, f"{url} shows {texts}, a time the schedule does not show"
            assert texts <= reference[instant], f"{url} shows {texts} where the schedule shows {reference[instant]}"
    assert times_of(read["/patients"]), "the patients list shows the next visits"
    assert times_of(read["/inbox"]), "the inbox shows when the last message came"


def test_the_schedule_sorts_each_clinic_by_its_own_clock_and_marks_now(
    staff_pages: PageClient, session: Session, office: Office
) -> None:
    """A day of two zones: each clinic under its name, in its local order, and on today a "now" line in each."""
    denver = make_clinic(session, office, name="Aspen", timezone="America/Denver")
    chicago = make_clinic(session, office, name="Lakeside", timezone=CHICAGO)
    today = datetime.now(ZoneInfo(CHICAGO)).date()
    for zone, clinic, clocks in (
        (CHICAGO, chicago, (time(0, 0), time(23, 15))),
        ("America/Denver", denver, (time(0, 30), time(23, 45))),
    ):
        for at in clocks:
            local_day = datetime.now(ZoneInfo(zone)).date()
            make_appointment(
                session,
                clinic,
                make_patient(session, office),
                starts_at=datetime.combine(local_day, at, ZoneInfo(zone)),
            )
    session.commit()
    html = staff_pages.get(f"/schedule?day={today.isoformat()}").text
    if datetime.now(ZoneInfo("America/Denver")).date() != today:
        pytest.skip("Chicago and Denver are on different days right now")
    lines = re.findall(
        r'<tr class="(clinicrow|nowrow)">.*?</tr>|<tr id="appt-\d+"[^>]*>\s*<td[^>]*><strong>(<time[^<]*</time>)',
        html,
        re.S,
    )
    order = [kind or clock_of(tag) for kind, tag in lines]
    assert order[0] == "clinicrow" and order[4] == "clinicrow"  # Aspen, then Lakeside (by name)
    assert [o for o in order[1:4] if o != "nowrow"] == [
        f"12:30 AM {abbr('America/Denver')}",
        f"11:45 PM {abbr('America/Denver')}",
    ]
    assert [o for o in order[5:] if o != "nowrow"] == [f"12:00 AM {abbr(CHICAGO)}", f"11:15 PM {abbr(CHICAGO)}"]
    assert order.count("nowrow") == 2 and "Now · <time" in html


def abbr(zone: str) -> str:
    return datetime.now(ZoneInfo(zone)).tzname() or ""
