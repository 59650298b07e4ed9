"""The simulator's phone page shows each text at the time the phone's owner read it: on the phone's own clock
(from its number's area), with the zone's abbreviation, and says whose clock that is."""

from __future__ import annotations

import asyncio
from datetime import datetime

from clinic_reminders.gateways import TwilioGateway
from clinic_reminders.local_time import display
from tests.fixtures.simulator import CLINIC_NUMBER, SimulatorClient

CHICAGO_PHONE = "+13125550142"  # area code 312: Chicago


def test_the_phone_page_shows_times_on_the_phones_clock(
    simulator: SimulatorClient, twilio_gateway: TwilioGateway
) -> None:
    asyncio.run(twilio_gateway.send_sms(CHICAGO_PHONE, CLINIC_NUMBER, "Your visit is at 4:00 PM"))
    [sent] = simulator.messages(to=CHICAGO_PHONE)
    page = simulator.http.get(f"{simulator.url}/simulator/", params={"phone": CHICAGO_PHONE}).text
    assert "Times in America/Chicago, where this phone is." in page
    shown = display(datetime.fromisoformat(sent["created"]), "America/Chicago", "weekday-time")
    assert f"{shown} · " in page and shown.endswith(("CST", "CDT"))
