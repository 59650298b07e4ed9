"""The practice-management system is down while 500 patients answer: afterwards every event arrives, in order per
appointment, and a receiver that de-duplicates on `webhook-id` applies none twice.

"Ten minutes" of outage on a fast scale: the engine's retries start at 20 ms and double up to 200 ms (10 s up
to an hour in production), and the receiver refuses until a delivery has been tried six times, as ten minutes
would see it tried.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders.accounts import the_office
from clinic_reminders.benchmarks import synthetic
from clinic_reminders.conversations import inbound_sms
from clinic_reminders.models import Appointment, Delivery, Destination, Event, Office, utcnow
from tests.integration.writeback_support import (
    Endpoint,
    Receiver,
    _receiver_server,
    add_destination,
    all_delivered,
    engine_settings,
    eventually,
    in_order_per_appointment,
    receiver,
    running_engine,
)

__all__ = ["_receiver_server", "receiver"]  # fixtures

PATIENTS = 500


def answer(sessions: sessionmaker[Session], number: str, body: str, sid: str) -> None:
    params = {"MessageSid": sid, "From": number, "To": "+15005550006", "Body": body}
    with sessions() as db, db.begin():
        inbound_sms.handle(db, the_office(db).id, params, utcnow())


def every_patient_answers(sessions: sessionmaker[Session]) -> None:
    """Each patient confirms, and every other one then cancels; four patients at a time (on PostgreSQL their
    transactions commit out of id order now and then, as the web server's do)."""

    def one(i: int, number: str) -> None:
        answer(sessions, number, "1", f"SM{i:032x}")
        if i % 2 == 0:
            answer(sessions, number, "2", f"SM{i + PATIENTS:032x}")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, range(PATIENTS), synthetic.numbers(PATIENTS)))


def assert_the_pms_has_it_all(
    db: Session, pms: Endpoint, destination: Destination, start: int, *, tried: int = 7
) -> None:
    """Every event since the destination was added, each applied once, in order per appointment, ending in the
    appointment's status as the schedule has it."""
    events = list(db.scalars(select(Event.id).where(Event.id > start).order_by(Event.id)))
    applied = [int(a.payload["id"].removeprefix("evt_")) for a in pms.applied]
    assert sorted(applied) == events and len(set(applied)) == len(applied)
    per_appointment = in_order_per_appointment(pms.applied)
    assert len(per_appointment) == PATIENTS
    told: dict[int, str] = {}
    for arrival in pms.applied:
        appointment = arrival.payload["data"]["appointment"]
        if arrival.payload["type"].startswith("appointment."):
            told[appointment["id"]] = appointment["status"]
    schedule = {i: status for i, status in db.execute(select(Appointment.id, Appointment.status))}
    assert told == schedule
    assert set(schedule.values()) == {"confirmed", "cancelled"}
    deliveries = db.scalars(select(Delivery).where(Delivery.destination_id == destination.id)).all()
    assert max(d.attempts for d in deliveries) >= tried  # the outage was met, and outlived


def test_every_answer_given_during_an_outage_arrives_once_and_in_order(
    session_factory: sessionmaker[Session], database_url: str, receiver: Receiver
) -> None:
    synthetic.seed_due_reminders(session_factory, PATIENTS)
    with session_factory() as db:
        office_id = db.scalars(select(Office.id)).one()
        destination = add_destination(db, office_id, receiver.url_of("pms"))
        start = destination.cursor
    pms = receiver.endpoint("pms", status=503)
    settings = engine_settings(database_url, writeback_concurrency=16)

    with running_engine(settings, session_factory):
        every_patient_answers(session_factory)  # while the receiver answers 503
        with session_factory() as db:
            count = len(db.scalars(select(Event.id).where(Event.id > start)).all())
        eventually(lambda: max(attempts(session_factory, destination.id), default=0) >= 6, 20)  # ten minutes' worth
        pms.status = 200
        eventually(lambda: all_delivered(session_factory, destination.id, count), 60)

    with session_factory() as db:
        assert_the_pms_has_it_all(db, pms, destination, start)


def attempts(sessions: sessionmaker[Session], destination_id: int) -> list[int]:
    with sessions() as db:
        return list(db.scalars(select(Delivery.attempts).where(Delivery.destination_id == destination_id)))
