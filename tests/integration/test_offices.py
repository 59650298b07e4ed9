"""Offices as tenants: the operator adds and suspends offices from the command line and the operator page; a
suspended office's staff cannot sign in, its webhooks are refused and it is not among the offices dispatched for;
an import goes to the office it names; the office directory of the webhooks sees a change without a restart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select

from clinic_reminders import offices
from clinic_reminders.cli import main
from clinic_reminders.crypto import SecretBox
from clinic_reminders.db import make_engine, make_sessionmaker
from clinic_reminders.gateways import SIGNATURE_HEADER, compute_signature
from clinic_reminders.models import Appointment, Message, Office, Role, StaffUser
from clinic_reminders.settings import Settings
from clinic_reminders.web.app import create_app
from clinic_reminders.web.webhooks import signed
from tests.conftest import TEST_SECRET_KEY
from tests.factories import DEFAULT_PASSWORD, make_clinic, make_office, make_provider, make_user
from tests.web.pages import sign_in

FIXTURES = Path(__file__).parent.parent / "fixtures"
PUBLIC_URL = "http://testserver"
SID, TOKEN, NUMBER = "AC" + "d" * 32, "token-of-the-hosted-office-0123", "+13035550303"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'offices.db'}"
    _invoke("db", "upgrade", "--database-url", url)
    return url


@pytest.fixture
def password(tmp_path: Path) -> str:
    path = tmp_path / "password"
    path.write_text(DEFAULT_PASSWORD + "\n")
    return str(path)


def _invoke(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def _app(db_url: str, **settings: Any) -> TestClient:
    values = {"database_url": db_url, "secret_key": TEST_SECRET_KEY, "embedded_worker": False, **settings}
    return TestClient(create_app(Settings(**values)))


def test_the_operator_adds_lists_suspends_and_resumes_offices(db_url: str, password: str) -> None:
    first = _invoke("office", "add", "Hill Clinic", "--admin-email", "Ann@Hill.example", "--password-file", password)
    assert first.startswith("added office 1 'Hill Clinic' with admin ann@hill.example")
    _invoke("office", "add", "Lake Clinic", "--admin-email", "bo@lake.example", "--password-file", password)
    refused = _invoke("office", "add", " ", "--admin-email", "x@y.example", "--password-file", password, code=1)
    assert "give the office a name" in refused
    assert "already exists" in _invoke(
        "office", "add", "Again", "--admin-email", "ann@hill.example", "--password-file", password, code=1
    )
    assert _invoke("office", "list").splitlines() == ["1\tactive\t-\tHill Clinic", "2\tactive\t-\tLake Clinic"]

    assert "office 2 'Lake Clinic' is suspended" in _invoke("office", "suspend", "2", "--database-url", db_url)
    assert _invoke("office", "list", "--database-url", db_url).splitlines()[1] == "2\tsuspended\t-\tLake Clinic"
    with make_sessionmaker(make_engine(db_url))() as db:
        assert offices.active_office_ids(db) == [1]
        assert db.scalar(select(Office.hosted).where(Office.id == 2)) is True
    assert "no office 9" in _invoke("office", "suspend", "9", "--database-url", db_url, code=1)
    assert "is active" in _invoke("office", "resume", "2", "--database-url", db_url)
    with make_sessionmaker(make_engine(db_url))() as db:
        assert offices.active_office_ids(db) == [1, 2]


@pytest.fixture(autouse=True)
def _database_url_for_the_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REMINDERS_DATABASE_URL", f"sqlite:///{tmp_path / 'offices.db'}")
    monkeypatch.setenv("REMINDERS_SECRET_KEY", TEST_SECRET_KEY)


def test_a_suspended_offices_staff_cannot_sign_in_and_are_signed_out(db_url: str, password: str) -> None:
    _invoke("office", "add", "Hill Clinic", "--admin-email", "ann@hill.example", "--password-file", password)
    with _app(db_url) as client:
        pages = sign_in(client, "ann@hill.example")
        token = _invoke("token", "ann@hill.example").strip()
        assert client.get("/api/clinics", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        _invoke("office", "suspend", "1")

        assert pages.get("/schedule", follow_redirects=False).status_code == 303  # to the sign-in page
        refused = client.get("/api/clinics", headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 403 and "suspended" in refused.json()["detail"]
        login = pages.get("/login")
        assert "This office is suspended" in login.text  # said once, on the page it was sent to
        again = pages.post("/login", {"email": "ann@hill.example", "password": DEFAULT_PASSWORD, "next": "/"})
        assert again.status_code == 403 and "This office is suspended" in again.text


def test_only_an_operator_opens_the_operator_page_and_suspends_from_it(db_url: str, password: str) -> None:
    _invoke("office", "add", "Hill Clinic", "--admin-email", "ann@hill.example", "--password-file", password)
    _invoke("office", "add", "Lake Clinic", "--admin-email", "bo@lake.example", "--password-file", password)
    _invoke("user", "add", "host@example.com", "--role", "operator", "--office", "1", "--password-file", password)
    assert "several offices" in _invoke("user", "add", "x@example.com", "--password-file", password, code=1)
    with _app(db_url) as client:
        admin = sign_in(client, "bo@lake.example")
        assert admin.get("/operator/offices").status_code == 404
        assert admin.post("/operator/offices/1/suspend").status_code == 404
        assert "Offices" not in admin.get("/schedule").text.split("</nav>")[0]
    with _app(db_url) as client:
        operator = sign_in(client, "host@example.com")
        page = operator.get("/operator/offices")
        assert "Hill Clinic" in page.text and "Lake Clinic" in page.text
        summary = operator.get("/operator/offices/2/doctor")
        assert summary.status_code == 200 and "passed" in summary.text
        assert operator.post("/operator/offices/2/suspend").status_code == 303
        refused = operator.post("/operator/offices/1/suspend")  # the operator's own office
        assert refused.status_code == 303
        assert "holds an operator" in operator.get("/operator/offices").text
    with make_sessionmaker(make_engine(db_url))() as db:
        assert offices.active_office_ids(db) == [1]


def test_an_offices_admin_cannot_make_anyone_an_operator(db_url: str, password: str) -> None:
    _invoke("office", "add", "Hill Clinic", "--admin-email", "ann@hill.example", "--password-file", password)
    token = _invoke("token", "ann@hill.example").strip()
    with _app(db_url) as client:
        headers = {"Authorization": f"Bearer {token}"}
        body = {"email": "eve@hill.example", "role": "operator", "password": "long enough password"}
        assert client.post("/api/staff-users", json=body, headers=headers).status_code == 422
        body["role"] = "staff"
        created = client.post("/api/staff-users", json=body, headers=headers)
        assert created.status_code == 201, created.text
        change = client.patch(f"/api/staff-users/{created.json()['id']}", json={"role": "operator"}, headers=headers)
        assert change.status_code == 422
    with make_sessionmaker(make_engine(db_url))() as db:
        assert db.scalar(select(StaffUser.role).where(StaffUser.email == "eve@hill.example")) == Role.STAFF


def test_an_import_goes_to_the_office_it_names(db_url: str, password: str) -> None:
    _invoke("office", "add", "Hill Clinic", "--admin-email", "ann@hill.example", "--password-file", password)
    _invoke("office", "add", "Lake Clinic", "--admin-email", "bo@lake.example", "--password-file", password)
    with make_sessionmaker(make_engine(db_url)).begin() as db:
        for office_id in (1, 2):  # what the sample names, in both offices
            office = db.get_one(Office, office_id)
            riverside = make_clinic(db, office, name="Riverside", timezone="America/Denver", phone="+13035550100")
            make_clinic(db, office, name="Downtown Clinic", timezone="America/New_York")
            make_provider(db, office, riverside, name="Maria Chen", title="Dr.")
    schedule = str(FIXTURES / "imports" / "schedule.csv")
    assert "several offices" in _invoke("import", "csv", schedule, code=1)
    _invoke("import", "csv", schedule, "--office", "2")
    with make_sessionmaker(make_engine(db_url))() as db:
        assert set(db.scalars(select(Appointment.office_id))) == {2}


def test_the_doctor_checks_the_office_it_names(db_url: str, password: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMINDERS_SECRET_KEY", TEST_SECRET_KEY)
    _invoke("office", "add", "Hill Clinic", "--admin-email", "ann@hill.example", "--password-file", password)
    _invoke("office", "add", "Lake Clinic", "--admin-email", "bo@lake.example", "--password-file", password)
    with make_sessionmaker(make_engine(db_url)).begin() as db:
        db.get_one(Office, 2).twilio_account_sid = SID
    assert "several offices: name one with --office ID" in _invoke("doctor", "--database-url", db_url, code=1)
    assert "no office" in _invoke("doctor", "--database-url", db_url, "--office", "9", code=1).lower()
    reports = [json.loads(_invoke("doctor", "--json", "--database-url", db_url, "--office", n, code=1)) for n in "12"]
    first, second = ({c["id"]: c["explanation"] for c in report["checks"]} for report in reports)
    assert first["settings.twilio_account"] == "no Twilio Account SID"
    assert second["settings.twilio_account"].startswith("no Twilio Auth Token")  # its own account SID is set
    assert "several offices" in _invoke("setup", "twilio", "--yes", "--database-url", db_url, code=1)


def _text(client: TestClient, to: str, sid: str, token: str = TOKEN, account: str = SID) -> int:
    params = {"AccountSid": account, "MessageSid": sid, "From": "+13035550999", "To": to, "Body": "hello"}
    target = f"/app_confirm?{urlencode(params)}"
    signature = compute_signature(token, PUBLIC_URL + target)
    return client.get(target, headers={SIGNATURE_HEADER: signature}).status_code


def test_the_webhooks_see_a_new_number_and_a_suspension_without_a_restart(
    db_url: str, password: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(signed.time, "monotonic", lambda: clock[0])
    sessions = make_sessionmaker(make_engine(db_url))
    with sessions.begin() as db:
        make_office(db, name="Deployment's own")  # a second office: the webhooks must tell them apart
    _invoke("office", "add", "Hill Clinic", "--admin-email", "ann@hill.example", "--password-file", password)
    with _app(db_url, public_url=PUBLIC_URL) as client:
        assert _text(client, NUMBER, "SM" + "1" * 32) == 403  # no office has this account yet
        with sessions.begin() as db:
            office = db.get_one(Office, 2)
            office.twilio_account_sid, office.twilio_phone_number = SID, NUMBER
            office.twilio_auth_token_encrypted = SecretBox(TEST_SECRET_KEY).encrypt(TOKEN)
        assert _text(client, NUMBER, "SM" + "2" * 32) == 403  # within the second: the directory as it was
        clock[0] += signed.STAMP_INTERVAL
        assert _text(client, NUMBER, "SM" + "3" * 32) == 200  # the stamp changed: read again
        assert _text(client, NUMBER, "SM" + "4" * 32, token="another office's token") == 403

        _invoke("office", "suspend", "2")
        clock[0] += signed.STAMP_INTERVAL
        assert _text(client, NUMBER, "SM" + "5" * 32) == 403
    with sessions() as db:
        taken = set(db.scalars(select(Message.twilio_sid).where(Message.twilio_sid.is_not(None))))
    assert taken == {"SM" + "3" * 32}


def test_the_environments_twilio_account_is_the_first_offices_not_a_hosted_ones(db_url: str, password: str) -> None:
    _invoke("office", "add", "Hill Clinic", "--admin-email", "ann@hill.example", "--password-file", password)
    with make_sessionmaker(make_engine(db_url)).begin() as db:
        hill = db.get_one(Office, 1)
        hill.twilio_account_sid = SID
        mine = make_office(db, name="Deployment's own")
        make_user(db, mine, Role.ADMIN, email="me@example.com")
    env = {"twilio_account_sid": "AC" + "e" * 32, "twilio_auth_token": "env-token-0123456789", "public_url": PUBLIC_URL}
    with _app(db_url, twilio_phone_number="+13035550404", **env) as client:
        assert _text(client, "+13035550404", "SM" + "6" * 32, "env-token-0123456789", env["twilio_account_sid"]) == 200
        assert _text(client, "+13035550404", "SM" + "7" * 32, "env-token-0123456789", SID) == 403
    with make_sessionmaker(make_engine(db_url))() as db:
        assert db.scalar(select(Message.office_id).where(Message.twilio_sid == "SM" + "6" * 32)) == 2
