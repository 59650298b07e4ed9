"""A believable office for `reminders demo`: two clinics in two time zones, providers, patients, appointments.

Every name and number here is fictional (555-01xx numbers are reserved for fiction). Seeding is idempotent:
an office that already has clinics is left as it is, so running the demo twice keeps working.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import accounts, booking, demo_history, demo_registration
from .models import (
    Appointment,
    AppointmentKind,
    Channel,
    Clinic,
    Office,
    Patient,
    PatientPhone,
    PhoneKind,
    Provider,
    Role,
)

DEMO_ADMIN_EMAIL = "admin@example.com"
DEMO_STAFF_EMAIL = "frontdesk@example.com"
DEMO_PASSWORD = "reminders-demo"  # noqa: S105  (printed by `reminders demo`; demo databases only)
DEMO_TWILIO_NUMBER = "+17205550100"  # a Denver local (10DLC) number: US carrier registration applies
# The simulator's API key for video tokens in the demo (Twilio shows a real one's secret only once).
DEMO_API_KEY = "SK" + "d3" * 16
DEMO_API_SECRET = "demo-video-api-secret-not-secret"  # noqa: S105  (the demo's simulated account only)

ENGLISH_FIRST = [
    "Emma",
    "Liam",
    "Olivia",
    "Noah",
    "Ava",
    "James",
    "Sophia",
    "Lucas",
    "Mia",
    "Ethan",
    "Grace",
    "Henry",
    "Chloe",
    "Jack",
    "Ella",
    "Owen",
    "Lily",
    "Caleb",
    "Zoe",
    "Ryan",
]
ENGLISH_LAST = [
    "Smith",
    "Johnson",
    "Brown",
    "Miller",
    "Davis",
    "Wilson",
    "Taylor",
    "Anderson",
    "Thomas",
    "Moore",
    "Clark",
    "Walker",
    "Hall",
    "Young",
    "King",
]
SPANISH_FIRST = [
    "Sofía",
    "Mateo",
    "Valentina",
    "Santiago",
    "Camila",
    "Diego",
    "Lucía",
    "Alejandro",
    "Isabella",
    "Javier",
    "María",
    "José",
    "Elena",
    "Carlos",
    "Ana",
]
SPANISH_LAST = [
    "García",
    "Martínez",
    "Rodríguez",
    "López",
    "Hernández",
    "González",
    "Pérez",
    "Sánchez",
    "Ramírez",
    "Torres",
    "Flores",
    "Rivera",
]


@dataclass(frozen=True)
class ClinicSpec:
    name: str
    phone: str
    timezone: str
    address: str
    area_code: str
    providers: tuple[tuple[str, str], ...]


CLINICS = (
    ClinicSpec(
        "Riverside Family Medicine",
        "+13035550100",
        "America/Denver",
        "1200 Riverside Dr, Denver, CO 80202",
        "303",
        (("Dr.", "Anna Keller"), ("Dr.", "Marcus Reed"), ("NP", "Julia Ortiz")),
    ),
    ClinicSpec(
        "Lakeside Pediatrics",
        "+13125550100",
        "America/Chicago",
        "48 Lake Shore Ave, Chicago, IL 60611",
        "312",
        (("Dr.", "Priya Nair"), ("Dr.", "Tomás Vega")),
    ),
)


HISTORY_DAYS = 30  # `reminders demo`'s month of past visits, for the dashboard's trends


def seed(db: Session, office: Office, now: datetime | None = None, patients: int = 60, history_days: int = 0) -> bool:
    """Fill an empty office. Returns False (and changes nothing) when the office already has clinics.

    With `history_days`, the office also gets that many days of past visits and their reminders and answers, and
    some of today's visits are spread around `now` (a few just past, most in the hours ahead), with the
    reminders already due sent and mostly answered (demo_history.py)."""
    if db.scalar(select(func.count()).select_from(Clinic).where(Clinic.office_id == office.id)):
        return False
    now = now or datetime.now(UTC)
    rng = random.Random(20261125)  # the same believable office every time
    office.name = "Riverside & Lakeside Medical Group"
    office.twilio_phone_number = office.twilio_phone_number or DEMO_TWILIO_NUMBER

    clinics: list[tuple[Clinic, list[Provider], ClinicSpec]] = []
    for spec in CLINICS:
        clinic = Clinic(
            office_id=office.id,
            name=spec.name,
            phone=spec.phone,
            timezone=spec.timezone,
            address=spec.address,
        )
        db.add(clinic)
        db.flush()
        providers = [Provider(office_id=office.id, clinic_id=clinic.id, title=t, name=n) for t, n in spec.providers]
        db.add_all(providers)
        clinics.append((clinic, providers, spec))
    db.flush()

    names: set[tuple[str, str]] = set()
    for i in range(patients):
        clinic, providers, spec = clinics[i % len(clinics)]
        patient = _patient(office, spec, i, rng, names)
        db.add(patient)
        db.flush()
        for slot in range(rng.choice((1, 1, 2))):
            appointment = _appointment(office, clinic, rng.choice(providers), patient, now, rng, slot)
            if history_days and slot == 0 and i % 3 == 0:
                appointment.starts_at = _around(now, ZoneInfo(clinic.timezone), rng)
            elif history_days and appointment.starts_at < now:  # today's list is the visits around now
                appointment.starts_at += timedelta(days=7)
            booking.create(db, appointment, "demo")
    if history_days:
        db.flush()
        demo_history.add(db, office, now, history_days, random.Random(rng.random()))
    return True


OPENING_HOURS = (time(8, 0), time(17, 45))  # the first and the last start of a visit, on the clinic's clock


def _around(now: datetime, zone: ZoneInfo, rng: random.Random) -> datetime:
    """A start on the quarter hour inside the clinic's opening hours, from three hours before now to six after:
    today's list around the present. Before the clinic opens it is the day ahead; after it closes, tomorrow's."""
    local = now.astimezone(zone)
    day = local.date() if local.time() <= OPENING_HOURS[1] else local.date() + timedelta(days=1)
    opens, closes = (datetime.combine(day, at, zone) for at in OPENING_HOURS)
    earliest, latest = max(opens, local - timedelta(hours=3)), min(closes, local + timedelta(hours=6))
    if earliest >= latest:
        earliest, latest = opens, closes
    start = earliest + timedelta(minutes=rng.randrange(0, int((latest - earliest).total_seconds() // 60) + 1))
    return start.replace(minute=start.minute // 15 * 15, second=0, microsecond=0).astimezone(UTC)


def _patient(office: Office, spec: ClinicSpec, i: int, rng: random.Random, taken: set[tuple[str, str]]) -> Patient:
    spanish = i % 3 == 2  # a third of the patients prefer Spanish
    first, last = "", ""
    while not first or ((first, last) in taken and len(taken) < 150):  # no two patients of the same name
        first = rng.choice(SPANISH_FIRST if spanish else ENGLISH_FIRST)
        last = rng.choice(SPANISH_LAST if spanish else ENGLISH_LAST)
    taken.add((first, last))
    landline = i % 10 == 7  # some patients only have a landline: they get calls
    number = f"+1{spec.area_code}55501{i % 99 + 1:02d}"  # 555-0101..0199; 555-0100 is the clinic's own
    kind = PhoneKind.LANDLINE if landline else PhoneKind.MOBILE
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 80 * 365))
    return Patient(
        office_id=office.id,
        external_id=f"DEMO-{i + 1:04d}",
        first_name=first,
        last_name=last,
        date_of_birth=born,
        language="es" if spanish else "en",
        preferred_channel=Channel.VOICE if landline else Channel.SMS,
        phones=[PatientPhone(office_id=office.id, number=number, kind=kind, position=0)],
    )


def _appointment(
    office: Office,
    clinic: Clinic,
    provider: Provider,
    patient: Patient,
    now: datetime,
    rng: random.Random,
    slot: int,
) -> Appointment:
    zone = ZoneInfo(clinic.timezone)
    local_today = now.astimezone(zone).date()
    day = local_today + timedelta(days=rng.randrange(0, 6) + slot * 7)
    while day.weekday() >= 5:  # clinics are closed at the weekend
        day += timedelta(days=1)
    start_local = datetime.combine(day, time(rng.randrange(8, 17), rng.choice((0, 15, 30, 45))), zone)
    return Appointment(
        office_id=office.id,
        external_id=f"DEMO-A-{patient.external_id}-{slot}",
        clinic_id=clinic.id,
        provider_id=provider.id,
        patient_id=patient.id,
        starts_at=start_local.astimezone(UTC),
        duration_minutes=rng.choice((15, 20, 30, 30, 45)),
        kind=AppointmentKind.TELEHEALTH if rng.random() < 0.15 else AppointmentKind.IN_PERSON,
    )


def simulator_environment(host: str, port: int) -> dict[str, str]:
    """Settings that point the demo at the simulator mounted in the same server."""
    from .simulator import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN

    base = f"http://{host}:{port}"
    return {
        "TWILIO_ACCOUNT_SID": DEFAULT_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": DEFAULT_AUTH_TOKEN,
        "TWILIO_PHONE_NUMBER": DEMO_TWILIO_NUMBER,
        "TWILIO_API_BASE_URL": f"{base}/simulator",
        "TWILIO_API_KEY": DEMO_API_KEY,
        "TWILIO_API_SECRET": DEMO_API_SECRET,
        "REMINDERS_PUBLIC_URL": base,
    }


def use_simulated_account(db: Session, office: Office, account_sid: str, *, registered: bool) -> None:
    """The office sends from the simulated account's number, registered with carriers or not (as the simulator
    will start: lifecycle.mount_demo_simulator reads it back)."""
    office.twilio_phone_number = DEMO_TWILIO_NUMBER
    demo_registration.fill_profile(db, office)
    if registered:
        demo_registration.registered(db, office, account_sid)
    else:
        demo_registration.unregistered(db, office)


def ensure_demo_users(db: Session, office: Office) -> None:
    for email, role, name in (
        (DEMO_ADMIN_EMAIL, Role.ADMIN, "Office Manager"),
        (DEMO_STAFF_EMAIL, Role.STAFF, "Front Desk"),
    ):
        if accounts.find_user(db, email) is None:
            accounts.add_user(db, office, email, role, DEMO_PASSWORD, name=name)


# What the demo's server runs with, written by `reminders demo` so that `reminders doctor` run beside it checks
# the demo as the server sees it (the simulator's account, the demo's public URL) instead of failing on a
# secret key, public URL and account that only the demo's process has. Every value in it is the demo's own.
SETTINGS_FILE = Path("var") / "demo-settings.json"


def save_settings(database_url: str, simulated: Mapping[str, str], path: Path = SETTINGS_FILE) -> None:
    """The demo's database and, when the simulator stands in for Twilio, its settings (never a real account's:
    those stay in the environment they came from)."""
    values = {"REMINDERS_DEMO": "1", "REMINDERS_DATABASE_URL": database_url, **simulated}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values, indent=2, sort_keys=True) + "\n")


def saved_settings(database_url: str, path: Path = SETTINGS_FILE) -> dict[str, str] | None:
    """The demo's settings, when the demo wrote them for this very database; None otherwise."""
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(saved, dict) or saved.get("REMINDERS_DATABASE_URL") != database_url:
        return None
    return {str(k): str(v) for k, v in saved.items()}
