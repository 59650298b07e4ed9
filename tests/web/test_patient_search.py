"""Patient search ignores case and accents ("jose garcia" finds "José García"), however the patient was written:
the API, the staff pages, an import, a bulk insert, or rows that were there before migration 0003."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders.benchmarks.synthetic import insert_patients
from clinic_reminders.db import make_engine, make_sessionmaker
from clinic_reminders.imports import upsert
from clinic_reminders.imports.records import PatientRecord, Record
from clinic_reminders.migrations import upgrade
from clinic_reminders.models import Office, Patient, Role
from clinic_reminders.search_text import fold_name
from clinic_reminders.settings import Settings
from clinic_reminders.web.app import create_app
from tests.conftest import DATABASES, TEST_SECRET_KEY, postgres_schema
from tests.factories import make_patient, make_token, make_user
from tests.web.pages import PageClient


def names(client: TestClient, q: str) -> set[str]:
    response = client.get("/api/patients", params={"q": q})
    assert response.status_code == 200, response.text
    return {f"{p['first_name']} {p['last_name']}" for p in response.json()["items"]}


@pytest.fixture
def people(session: Session, office: Office) -> None:
    for first, last in [
        ("José", "García"),
        ("Jose", "Perez"),
        ("Rosa", "Garcia"),
        ("Ana", "Müller"),
        ("Luis", "Núñez"),
        ("Bjørn", "Straße"),
    ]:
        make_patient(session, office, first, last)
    session.commit()


@pytest.mark.usefixtures("people")
def test_it_finds_names_whatever_the_case_and_accents(admin_client: TestClient) -> None:
    assert names(admin_client, "jose garcia") == {"José García"}
    assert names(admin_client, "José") == {"José García", "Jose Perez"}
    assert names(admin_client, "GARCÍA") == {"José García", "Rosa Garcia"}
    assert names(admin_client, "muller") == {"Ana Müller"}
    assert names(admin_client, "nunez") == {"Luis Núñez"}
    assert names(admin_client, "NÚÑEZ luis") == {"Luis Núñez"}
    assert names(admin_client, "bjorn strasse") == {"Bjørn Straße"}
    assert names(admin_client, "garcia perez") == set()  # every word must match
    assert names(admin_client, "a%") == set()  # wildcards are text


@pytest.mark.usefixtures("people")
def test_the_staff_page_finds_them_too(staff_pages: PageClient) -> None:
    page = staff_pages.get("/patients", params={"q": "jose garcia"}).text
    assert "García" in page
    assert "Perez" not in page and "Rosa" not in page


def test_a_renamed_patient_is_found_by_the_new_name_only(admin_client: TestClient) -> None:
    created = admin_client.post("/api/patients", json={"first_name": "Rosa", "last_name": "Garcia", "phones": []})
    assert created.status_code == 201, created.text
    url = f"/api/patients/{created.json()['id']}"
    assert admin_client.patch(url, json={"last_name": "Núñez"}).status_code == 200
    assert names(admin_client, "rosa nunez") == {"Rosa Núñez"}
    assert names(admin_client, "garcia") == set()
    assert admin_client.patch(url, json={"first_name": "Rosalía"}).status_code == 200
    assert names(admin_client, "rosalia nunez") == {"Rosalía Núñez"}


def test_imported_patients_are_found_and_follow_a_rename(
    admin_client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    upsert.run(session_factory, [Record("line 1", PatientRecord("P1", "Zoë", "Ångström"))], "test")
    assert names(admin_client, "zoe angstrom") == {"Zoë Ångström"}
    upsert.run(session_factory, [Record("line 1", PatientRecord("P1", "Zoë", "Łukasiewicz"))], "test")
    assert names(admin_client, "lukasiewicz") == {"Zoë Łukasiewicz"}
    assert names(admin_client, "angstrom") == set()


def test_bulk_inserted_patients_are_found(admin_client: TestClient, session: Session, office: Office) -> None:
    insert_patients(session, office.id, 2)  # the benchmarks' bulk insert (it expects an office without patients)
    session.execute(insert(Patient), [{"office_id": office.id, "first_name": "Þóra", "last_name": "Æsir"}])
    session.commit()
    assert names(admin_client, "thora aesir") == {"Þóra Æsir"}
    assert names(admin_client, "pat1 synthetic") == {"Pat1 Synthetic"}


@pytest.fixture(params=DATABASES)
def url_at_0002(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database migrated to revision 0002, before patients had a search name."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'at-0002.db'}"
        upgrade(url, "0002")
        yield url
        return
    with postgres_schema() as url:
        upgrade(url, "0002")
        yield url


def test_migration_0003_fills_the_search_name_of_existing_patients(url_at_0002: str) -> None:
    engine = make_engine(url_at_0002)
    sessions = make_sessionmaker(engine)
    # The tables are 0002's: the office gets the columns it had then (and their defaults), patients are SQL.
    with sessions() as db:
        offices = Office.__table__
        office_id = db.execute(insert(offices).values(name="Riverside").returning(offices.c.id)).scalar_one()
        rows = [("José", "García"), ("Ana", "Müller")] + [(f"Pat{i}", "Synthetic") for i in range(2_500)]
        db.execute(
            text(
                "INSERT INTO patients (office_id, first_name, last_name, language, preferred_channel, sms_consent,"
                " voice_consent, created_at, updated_at) VALUES (:office, :first, :last, 'en', 'sms', :yes, :yes,"
                " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            [{"office": office_id, "first": first, "last": last, "yes": True} for first, last in rows],
        )
        db.commit()

    upgrade(url_at_0002)

    with sessions() as db:
        stored = db.execute(select(Patient.first_name, Patient.last_name, Patient.search_name)).all()
        office = db.get(Office, office_id)
        assert office is not None
        token = make_token(db, make_user(db, office, Role.STAFF))
        db.commit()
    assert len(stored) == len(rows)
    assert all(search_name == fold_name(first, last) for first, last, search_name in stored)
    settings = Settings(database_url=url_at_0002, secret_key=TEST_SECRET_KEY, embedded_worker=False)
    app = create_app(settings, engine)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        assert names(client, "jose garcia") == {"José García"}
        assert names(client, "MULLER") == {"Ana Müller"}
        assert names(client, "pat2499") == {"Pat2499 Synthetic"}
    engine.dispose()
