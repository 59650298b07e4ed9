"""The app on the parametrized database (SQLite and PostgreSQL); API clients signed in as admin, staff, nobody;
the staff pages in a browser-like client signed in as admin or staff; a day of appointments in every state."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from clinic_reminders.models import Office, Role, StaffUser
from clinic_reminders.settings import Settings
from clinic_reminders.web.app import create_app
from tests.conftest import TEST_SECRET_KEY
from tests.factories import make_office, make_token, make_user
from tests.web.pages import Day, PageClient, build_day, signed_in


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, secret_key=TEST_SECRET_KEY, embedded_worker=False)


@pytest.fixture
def app(settings: Settings, engine: Engine) -> FastAPI:
    return create_app(settings, engine)


@pytest.fixture
def office(session: Session) -> Office:
    office = make_office(session)
    session.commit()
    return office


@pytest.fixture
def admin_user(session: Session, office: Office) -> StaffUser:
    user = make_user(session, office, Role.ADMIN, email="admin@example.com", name="Ada Admin")
    session.commit()
    return user


@pytest.fixture
def staff_user(session: Session, office: Office) -> StaffUser:
    user = make_user(session, office, Role.STAFF, email="staff@example.com", name="Sam Staff")
    session.commit()
    return user


def _client(app: FastAPI, token: str | None) -> Iterator[TestClient]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with TestClient(app, headers=headers) as client:
        yield client


@pytest.fixture
def anon_client(app: FastAPI) -> Iterator[TestClient]:
    yield from _client(app, None)


@pytest.fixture
def admin_token(session: Session, admin_user: StaffUser) -> str:
    token = make_token(session, admin_user)
    session.commit()
    return token


@pytest.fixture
def staff_token(session: Session, staff_user: StaffUser) -> str:
    token = make_token(session, staff_user)
    session.commit()
    return token


@pytest.fixture
def admin_client(app: FastAPI, admin_token: str) -> Iterator[TestClient]:
    yield from _client(app, admin_token)


@pytest.fixture
def staff_client(app: FastAPI, staff_token: str) -> Iterator[TestClient]:
    yield from _client(app, staff_token)


@pytest.fixture
def other_office(session: Session) -> Office:
    """A second office sharing the deployment: none of its rows may show through the first one's API."""
    office = make_office(session, name="Other Office")
    session.commit()
    return office


@pytest.fixture
def admin_pages(app: FastAPI, admin_user: StaffUser) -> PageClient:
    """The staff pages, signed in through the login form as an admin."""
    return signed_in(app, admin_user)


@pytest.fixture
def staff_pages(app: FastAPI, staff_user: StaffUser) -> PageClient:
    """The staff pages, signed in through the login form as staff (no admin pages)."""
    return signed_in(app, staff_user)


@pytest.fixture
def day(session: Session, office: Office) -> Day:
    """`build_day`'s office, committed."""
    built = build_day(session, office)
    session.commit()
    return built
