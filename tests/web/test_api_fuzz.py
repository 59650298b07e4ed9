"""Schemathesis against the running app, signed in as staff: whatever it sends within the description, the API
answers without a server error and as /openapi.json says (status code, content type, headers, body). On SQLite
and PostgreSQL, bounded and derandomized so that a CI run is repeatable; `-m "not schemathesis"` leaves it out."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from clinic_reminders.db import make_engine, make_sessionmaker, transaction
from clinic_reminders.models import Base, Role
from clinic_reminders.settings import Settings
from clinic_reminders.web.app import create_app
from tests.conftest import DATABASES, TEST_SECRET_KEY, postgres_schema
from tests.factories import (
    make_appointment,
    make_clinic,
    make_office,
    make_patient,
    make_provider,
    make_token,
    make_user,
)
from tests.fixtures.simulator import ThreadedServer

pytestmark = pytest.mark.schemathesis

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, secret_key=TEST_SECRET_KEY, embedded_worker=False)


# The description does not depend on the database: read from an app that never connects to one.
api = schemathesis.openapi.from_dict(create_app(_settings("sqlite://")).openapi())


@dataclass(frozen=True)
class Running:
    url: str
    headers: dict[str, str]


@contextmanager
def _empty_database(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'fuzz.db'}"
        return
    with postgres_schema() as url:
        yield url


@pytest.fixture(scope="module", params=DATABASES)
def running(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """One server per database for every operation: an office with a little of everything (rows with small ids,
    which generated ids may hit) and a staff member's token."""
    with _empty_database(request.param, tmp_path_factory.mktemp("fuzz")) as url:
        engine = make_engine(url)
        Base.metadata.create_all(engine)
        with transaction(make_sessionmaker(engine)) as db:
            office = make_office(db)
            clinic = make_clinic(db, office)
            make_provider(db, office, clinic)
            make_appointment(db, clinic, make_patient(db, office))
            token = make_token(db, make_user(db, office, Role.STAFF))
        with ThreadedServer(create_app(_settings(url), engine)) as server:
            yield Running(server.url, {"Authorization": f"Bearer {token}"})
        engine.dispose()


@api.parametrize()
@settings(
    max_examples=10,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_answers_as_it_describes_itself(case: Any, running: Running) -> None:
    case.call_and_validate(base_url=running.url, headers=running.headers, checks=CHECKS, timeout=30)
