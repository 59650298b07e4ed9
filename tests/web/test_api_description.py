"""/openapi.json describes what the API answers: one error body for every error, every code a route answers, and
clock times in a form their own description accepts."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from clinic_reminders.models import Office
from tests.factories import make_clinic

# RFC 3339's full-time, which JSON Schema's "time" format means: the offset is required.
_RFC3339_TIME = re.compile(r"^\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", re.IGNORECASE)
_FORMATS = jsonschema.FormatChecker()
_FORMATS.checks("time")(lambda value: not isinstance(value, str) or bool(_RFC3339_TIME.match(value)))


def _validate(spec: dict[str, Any], path: str, method: str, response: Any) -> None:
    """The answer's body against what /openapi.json documents for its status on that operation."""
    documented = spec["paths"][path][method]["responses"]
    assert str(response.status_code) in documented, f"{response.status_code} is not documented"
    schema = documented[str(response.status_code)]["content"]["application/json"]["schema"]
    root = {**schema, "components": spec["components"]}
    jsonschema.Draft202012Validator(root, format_checker=_FORMATS).validate(response.json())


@pytest.mark.parametrize(
    ("client", "method", "url", "path", "body", "status"),
    [
        ("anon_client", "get", "/api/patients", "/api/patients", None, 401),
        ("staff_client", "post", "/api/reminder-rules", "/api/reminder-rules", {"name": "x"}, 403),
        ("staff_client", "get", "/api/patients/99", "/api/patients/{patient_id}", None, 404),
        ("staff_client", "post", "/api/patients", "/api/patients", {"first_name": ""}, 422),
        ("staff_client", "get", "/api/patients?offset=-1", "/api/patients", None, 422),
        ("admin_client", "post", "/api/reminder-rules", "/api/reminder-rules", {"name": "x"}, 422),
        ("staff_client", "post", "/api/appointments", "/api/appointments", {"clinic_id": 99}, 422),
    ],
)
def test_every_error_has_the_documented_body(
    request: pytest.FixtureRequest,
    anon_client: TestClient,
    client: str,
    method: str,
    url: str,
    path: str,
    body: dict[str, Any] | None,
    status: int,
) -> None:
    response = request.getfixturevalue(client).request(method.upper(), url, json=body)
    assert response.status_code == status, response.text
    assert isinstance(response.json()["detail"], str)
    _validate(anon_client.get("/openapi.json").json(), path, method, response)


def test_a_field_error_names_the_field_in_detail_and_in_errors(staff_client: TestClient) -> None:
    response = staff_client.get("/api/appointments?clinic_id=0")
    assert response.status_code == 422
    assert response.json()["detail"].startswith("clinic_id: ")
    assert [e["field"] for e in response.json()["errors"]] == ["clinic_id"]


def test_clock_times_match_their_own_description(
    admin_client: TestClient, anon_client: TestClient, session: Session, office: Office
) -> None:
    make_clinic(session, office)
    session.commit()
    spec = anon_client.get("/openapi.json").json()
    office_read = admin_client.get("/api/office")
    assert office_read.json()["quiet_hours_start"] == "08:00:00"
    _validate(spec, "/api/office", "get", office_read)
    rule = {"name": "Day before", "channel": "sms", "days_before": 1, "at_local_time": "18:30"}
    created = admin_client.post("/api/reminder-rules", json=rule)
    assert created.status_code == 201, created.text
    _validate(spec, "/api/reminder-rules", "post", created)
    refused = admin_client.post("/api/reminder-rules", json={**rule, "at_local_time": "18:30:00+02:00"})
    assert [e["field"] for e in refused.json()["errors"]] == ["at_local_time"]


def test_every_api_operation_lists_the_errors_it_can_answer(anon_client: TestClient) -> None:
    spec = anon_client.get("/openapi.json").json()
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"401", "500"} <= codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
            if operation.get("parameters") or "requestBody" in operation:
                assert "422" in codes, (method, path)
            for code in codes - {"200", "201", "204"}:
                schema = operation["responses"][code]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, code)
    assert "HTTPValidationError" not in spec["components"]["schemas"]
