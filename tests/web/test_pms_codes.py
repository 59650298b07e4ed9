"""PMS codes for admins: the location and provider codes imports met, mapped to clinics and providers through
`/api/pms-codes` and the configuration page's "PMS codes" section, each office seeing only its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_reminders.models import Clinic, Office, PmsCode, Provider
from tests.factories import make_clinic, make_provider
from tests.web.pages import PageClient


def seen(
    session: Session, office: Office, kind: str, code: str, name: str = "", title: str = "", times: int = 1
) -> int:
    """A code as an import leaves it when nothing stands for it."""
    row = PmsCode(
        office_id=office.id,
        kind=kind,
        code=code,
        name=name,
        title=title,
        seen_count=times,
        last_seen_at=datetime.now(UTC) - timedelta(minutes=times),
    )
    session.add(row)
    session.commit()
    return row.id


def clinic(session: Session, office: Office, name: str = "Riverside") -> Clinic:
    found = make_clinic(session, office, name=name, timezone="America/Denver", phone="+13035550100")
    session.commit()
    return found


def test_it_lists_the_codes_to_map_for_admins_only(
    session: Session, office: Office, admin_client: TestClient, staff_client: TestClient
) -> None:
    seen(session, office, "location", "RIV", "Riverside Family Medicine", times=3)
    seen(session, office, "provider", "7788", "Ben Okafor", "Dr", times=1)
    assert staff_client.get("/api/pms-codes").status_code == 403
    listed = admin_client.get("/api/pms-codes", params={"mapped": "false"})
    assert listed.status_code == 200
    assert [(c["kind"], c["code"], c["name"], c["seen_count"], c["mapped"]) for c in listed.json()] == [
        ("provider", "7788", "Ben Okafor", 1, False),  # met most recently
        ("location", "RIV", "Riverside Family Medicine", 3, False),
    ]


def test_it_maps_a_location_code_to_a_clinic_of_the_office_only(
    session: Session, office: Office, other_office: Office, admin_client: TestClient
) -> None:
    code_id = seen(session, office, "location", "RIV")
    theirs, ours = clinic(session, other_office), clinic(session, office)
    provider = make_provider(session, office)
    session.commit()
    wrong_office = admin_client.patch(f"/api/pms-codes/{code_id}", json={"clinic_id": theirs.id})
    assert (wrong_office.status_code, wrong_office.json()["detail"]) == (422, f"clinic_id: no clinic {theirs.id}")
    wrong_kind = admin_client.patch(f"/api/pms-codes/{code_id}", json={"provider_id": provider.id})
    assert wrong_kind.json()["detail"] == "provider_id: a location code stands for a clinic: give clinic_id"
    mapped = admin_client.patch(f"/api/pms-codes/{code_id}", json={"clinic_id": ours.id})
    assert mapped.status_code == 200 and (mapped.json()["mapped"], mapped.json()["clinic_id"]) == (True, ours.id)
    assert admin_client.get("/api/pms-codes", params={"mapped": "false"}).json() == []
    unmapped = admin_client.patch(f"/api/pms-codes/{code_id}", json={})
    assert unmapped.json()["mapped"] is False


def test_it_creates_the_provider_an_aip_code_names_and_maps_the_code_to_them(
    session: Session, office: Office, admin_client: TestClient
) -> None:
    code_id = seen(session, office, "provider", "7788", "Ben Okafor", "Dr")
    created = admin_client.post(f"/api/pms-codes/{code_id}/provider", json={})
    assert created.status_code == 201 and created.json()["display_name"] == "Dr Ben Okafor"
    code = admin_client.get("/api/pms-codes").json()[0]
    assert (code["code"], code["provider_id"]) == ("7788", created.json()["id"])
    again = admin_client.post(f"/api/pms-codes/{code_id}/provider", json={})
    assert again.status_code == 409
    nameless = seen(session, office, "provider", "9900")
    assert admin_client.post(f"/api/pms-codes/{nameless}/provider", json={}).status_code == 422


def test_it_maps_a_code_ahead_of_the_imports_once(session: Session, office: Office, admin_client: TestClient) -> None:
    ours = clinic(session, office)
    body = {"kind": "location", "code": "RIV", "clinic_id": ours.id}
    created = admin_client.post("/api/pms-codes", json=body)
    assert created.status_code == 201 and created.json()["seen_count"] == 0
    assert admin_client.post("/api/pms-codes", json=body).status_code == 409
    no_target = admin_client.post("/api/pms-codes", json={"kind": "location", "code": "DT"})
    assert no_target.json()["detail"] == "clinic_id: choose what the code stands for"


def test_it_forgets_a_code_of_its_own_office_only(
    session: Session, office: Office, other_office: Office, admin_client: TestClient
) -> None:
    ours, theirs = seen(session, office, "location", "RIV"), seen(session, other_office, "location", "RIV")
    assert admin_client.delete(f"/api/pms-codes/{theirs}").status_code == 404
    assert admin_client.delete(f"/api/pms-codes/{ours}").status_code == 204
    assert admin_client.get("/api/pms-codes").json() == []


def test_the_configuration_page_lists_a_code_to_map_and_maps_it(
    session: Session, office: Office, admin_pages: PageClient
) -> None:
    code_id = seen(session, office, "location", "RIV", "Riverside Family Medicine", times=3)
    ours = clinic(session, office)
    page = admin_pages.get("/config").text
    unknown = page[page.index('id="pms-unknown"') : page.index('id="pms-mapped"')]
    assert "<code>RIV</code>" in unknown and "Riverside Family Medicine" in unknown and "3 times" in unknown
    assert f'<option value="{ours.id}">Riverside</option>' in unknown
    done = admin_pages.post(f"/config/pms-codes/{code_id}/map", {"target": str(ours.id)})
    assert (done.status_code, done.headers["location"]) == (303, "/config#pms-codes")
    page = admin_pages.get("/config").text
    assert "Code “RIV” mapped: the next imports use it." in page
    mapped = page[page.index('id="pms-mapped"') :]
    assert "<code>RIV</code>" in mapped and "<td>Riverside</td>" in mapped
    session.expire_all()
    assert session.get_one(PmsCode, code_id).clinic_id == ours.id


def test_the_configuration_page_creates_a_provider_from_the_name_an_import_sent(
    session: Session, office: Office, admin_pages: PageClient, staff_pages: PageClient
) -> None:
    code_id = seen(session, office, "provider", "7788", "Ben Okafor", "Dr")
    page = admin_pages.get("/config").text
    assert "Create provider “Dr Ben Okafor”" in page
    staff_pages.get("/schedule")
    assert staff_pages.post(f"/config/pms-codes/{code_id}/provider").status_code == 403
    assert admin_pages.post(f"/config/pms-codes/{code_id}/provider").status_code == 303
    assert "Provider “Dr Ben Okafor” added, and code “7788” mapped to them." in admin_pages.get("/config").text
    provider = session.scalar(select(Provider).where(Provider.name == "Ben Okafor"))
    assert provider is not None and session.get_one(PmsCode, code_id).provider_id == provider.id


def test_the_configuration_page_says_why_a_mapping_is_not_saved(
    session: Session, office: Office, admin_pages: PageClient
) -> None:
    clinic(session, office)
    admin_pages.get("/config")
    assert admin_pages.post("/config/pms-codes", {"code": "RIV", "target": ""}).status_code == 303
    assert "Not saved: choose the clinic or the provider the code stands for." in admin_pages.get("/config").text
    assert session.scalars(select(PmsCode)).all() == []
