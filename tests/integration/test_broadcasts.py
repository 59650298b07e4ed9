"""Broadcasts with the dispatcher and the simulator: the preview counts only the patients who may be texted and
prices them, confirming flags the visits and stops their reminders, the dispatcher texts each patient once (a
double submit sends nothing more), in the allowed hours, and an opt-out meanwhile is honoured. SQLite and
PostgreSQL; the clock is fixed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders.broadcasts import affected, confirm
from clinic_reminders.conversations import consent
from clinic_reminders.effective import twilio_config
from clinic_reminders.models import (
    AppointmentStatus,
    AuditEntry,
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
    Channel,
    Office,
    Patient,
    RecipientStatus,
    Reminder,
    ReminderStatus,
)
from clinic_reminders.refusals import Refused
from clinic_reminders.settings import Settings
from tests.factories import make_patient
from tests.fixtures.simulator import SimulatorClient
from tests.integration.dispatch_support import (
    NOW,
    book,
    make_dispatch_clinic,
    make_dispatch_office,
    run_worker,
    worker_settings,
)

FRIDAY = date(2030, 6, 14)  # NOW is Wednesday June 12, noon in New York
TEXTS = {"en": "We are closed on Friday. We will call you to find a new time.", "es": "Cerramos el viernes."}
TOKEN = "a" * 22


@pytest.fixture
def settings(database_url: str, simulator: SimulatorClient) -> Settings:
    return worker_settings(database_url, simulator)


def _ask(clinic_id: int, first: date = FRIDAY, last: date = FRIDAY) -> affected.Ask:
    return affected.Ask(clinic_id, first, last, TEXTS)


def _friday(hour: int) -> datetime:
    return datetime(2030, 6, 14, hour + 4, 0, tzinfo=UTC)  # New York is UTC-4 in June


class Place:
    def __init__(self, session: Session) -> None:
        self.office: Office = make_dispatch_office(session)
        self.clinic = make_dispatch_clinic(session, self.office)
        self.ana = make_patient(session, self.office, "Ana", "Texted")
        self.bea = make_patient(session, self.office, "Bea", "Spanish", language="es")
        self.out = make_patient(session, self.office, "Otto", "OptedOut")
        consent.opt_out(session, self.out, Channel.SMS, "sms:patient", NOW - timedelta(days=3))
        self.silent = make_patient(session, self.office, "Sal", "NoConsent", sms_consent=False)
        self.phoneless = make_patient(session, self.office, "Pat", "NoPhone", phone=None)
        self.visits = [book(session, self.clinic, p, _friday(9 + i)) for i, p in enumerate(self.patients)]
        self.ana_second = book(session, self.clinic, self.ana, _friday(15))  # one text for her two visits
        self.thursday = book(session, self.clinic, self.ana, _friday(10) - timedelta(days=1))

    @property
    def patients(self) -> list[Patient]:
        return [self.ana, self.bea, self.out, self.silent, self.phoneless]


def _told(sent: list[dict[str, str]]) -> list[dict[str, str]]:
    """The broadcast's texts among what the simulator received (the visits of other days still get reminders)."""
    return [m for m in sent if m["body"].endswith(("a new time. STOP=opt out", "el viernes. STOP=baja"))]


def _config(settings: Settings, place: Place):  # type: ignore[no-untyped-def]
    return twilio_config(settings, place.office)


def test_the_preview_counts_only_the_patients_who_may_be_texted_and_prices_their_texts(
    session: Session, settings: Settings
) -> None:
    place = Place(session)
    preview = affected.preview(session, place.office, _config(settings, place), _ask(place.clinic.id), NOW)
    assert (preview.visits, preview.patients, preview.to_text, preview.not_texted) == (6, 5, 2, 3)
    english = "Riverside Family Medicine: We are closed on Friday. We will call you to find a new time. STOP=opt out"
    assert preview.bodies == {"en": english, "es": "Riverside Family Medicine: Cerramos el viernes. STOP=baja"}
    assert preview.segments == 2  # one segment each for Ana and Bea
    assert preview.cost == Decimal("0.0083") * 2
    assert session.scalars(select(Broadcast)).all() == []  # a preview changes nothing
    wider = affected.preview(
        session, place.office, _config(settings, place), _ask(place.clinic.id, FRIDAY - timedelta(days=1)), NOW
    )
    assert (wider.visits, wider.to_text) == (7, 2)


def test_it_refuses_days_that_are_over_backwards_or_without_english(session: Session, settings: Settings) -> None:
    place = Place(session)
    config = _config(settings, place)
    with pytest.raises(Refused, match="those days are over"):
        affected.preview(session, place.office, config, _ask(place.clinic.id, date(2030, 6, 1), date(2030, 6, 11)), NOW)
    with pytest.raises(Refused, match="on or after"):
        affected.preview(session, place.office, config, _ask(place.clinic.id, FRIDAY, FRIDAY - timedelta(days=1)), NOW)
    spanish_only = affected.Ask(place.clinic.id, FRIDAY, FRIDAY, {"es": "Cerrado"})
    with pytest.raises(Refused) as refused:
        affected.preview(session, place.office, config, spanish_only, NOW)
    assert refused.value.field == "texts.en"


def test_confirming_twice_sends_once_and_pauses_the_visits_reminders(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, simulator: SimulatorClient
) -> None:
    place = Place(session)
    friday_ids = {v.id for v in [*place.visits, place.ana_second]}
    planned = session.scalars(select(Reminder).where(Reminder.appointment_id.in_(friday_ids))).all()
    assert planned and {r.status for r in planned} == {ReminderStatus.PLANNED}
    config = _config(settings, place)
    first, made = confirm.confirm(session, place.office, config, _ask(place.clinic.id), TOKEN, "user:1", NOW)
    session.commit()
    again, made_again = confirm.confirm(session, place.office, config, _ask(place.clinic.id), TOKEN, "user:1", NOW)
    session.commit()
    assert (made, made_again, again.id) == (True, False, first.id)

    session.expire_all()
    for reminder in session.scalars(select(Reminder).where(Reminder.appointment_id.in_(friday_ids))):
        assert (reminder.status, reminder.reason) == (ReminderStatus.CANCELLED, "appointment is reschedule-requested")
    for visit in [*place.visits, place.ana_second]:
        session.refresh(visit)
        assert visit.status == AppointmentStatus.RESCHEDULE_REQUESTED
        assert visit.staff_flag == f"Office closed (broadcast #{first.id}): to reschedule"
    session.refresh(place.thursday)
    assert (place.thursday.status, place.thursday.staff_flag) == (AppointmentStatus.SCHEDULED, None)
    [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "broadcast")).all()
    assert entry.detail["visits"] == 6 and entry.detail["to_text"] == 2

    run_worker(settings, session_factory, clock=lambda: NOW)
    run_worker(settings, session_factory, clock=lambda: NOW + timedelta(minutes=5))
    again, _ = confirm.confirm(session, place.office, config, _ask(place.clinic.id), TOKEN, "user:1", NOW)
    session.commit()
    run_worker(settings, session_factory, clock=lambda: NOW + timedelta(minutes=10))
    sent = simulator.messages()
    told = _told(sent)
    assert sorted(m["to"] for m in told) == sorted([place.ana.phones[0].number, place.bea.phones[0].number])
    reminded = [m["to"] for m in sent if m not in told]
    assert reminded == [place.ana.phones[0].number]  # Thursday's reminder only: Friday's were paused
    session.expire_all()
    assert {r.status for r in session.scalars(select(Reminder).where(Reminder.appointment_id.in_(friday_ids)))} == {
        ReminderStatus.CANCELLED
    }
    session.expire_all()
    statuses = {r.patient_id: r.status for r in session.scalars(select(BroadcastRecipient))}
    assert statuses == {
        place.ana.id: RecipientStatus.TEXTED,
        place.bea.id: RecipientStatus.TEXTED,
        place.out.id: RecipientStatus.SKIPPED,
        place.silent.id: RecipientStatus.SKIPPED,
        place.phoneless.id: RecipientStatus.SKIPPED,
    }
    broadcast = session.get(Broadcast, first.id)
    assert broadcast is not None and broadcast.status == BroadcastStatus.SENT and broadcast.sent_at == NOW
    assert len(session.scalars(select(Broadcast)).all()) == 1


def test_texts_wait_for_the_allowed_hours_and_an_opt_out_meanwhile_is_honoured(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, simulator: SimulatorClient
) -> None:
    place = Place(session)
    night = datetime(2030, 6, 13, 3, 0, tzinfo=UTC)  # 23:00 in New York
    confirm.confirm(session, place.office, _config(settings, place), _ask(place.clinic.id), TOKEN, "user:1", night)
    session.commit()
    run_worker(settings, session_factory, clock=lambda: night)
    assert simulator.messages() == []
    consent.opt_out(session, session.merge(place.bea), Channel.SMS, "sms:patient", night)
    session.commit()
    morning = datetime(2030, 6, 13, 12, 0, tzinfo=UTC)  # 8:00 in New York
    run_worker(settings, session_factory, clock=lambda: morning)
    assert [m["to"] for m in _told(simulator.messages())] == [place.ana.phones[0].number]
    session.expire_all()
    bea = session.scalars(select(BroadcastRecipient).where(BroadcastRecipient.patient_id == place.bea.id)).one()
    assert (bea.status, bea.reason) == (RecipientStatus.SKIPPED, "no consent to texts, or opted out")
