"""Small assertions shared by the API tests."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clinic_reminders.models import AuditEntry


def error_fields(response: httpx.Response, status: int = 422) -> dict[str, str]:
    """{field: message} of a field-named error answer, after checking its status."""
    assert response.status_code == status, response.text
    return {e["field"]: e["message"] for e in response.json()["errors"]}


def count(session: Session, model: type[Any]) -> int:
    """Rows of `model` as the database has them now (not as this session remembers them)."""
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model)) or 0


def audit_trail(session: Session, entity: str) -> list[AuditEntry]:
    session.expire_all()
    return list(session.scalars(select(AuditEntry).where(AuditEntry.entity == entity).order_by(AuditEntry.id)))
