"""Staff users as the API reads and writes them. Password hashes never leave the server."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, SecretStr

from ....accounts import MIN_PASSWORD_LENGTH
from ....models import Role
from .common import ReadSchema, Schema

_PASSWORD_DOC = f"At least {MIN_PASSWORD_LENGTH} characters. Write-only."


class StaffUserCreate(Schema):
    email: str = Field(min_length=3, max_length=254)
    name: str = Field(default="", max_length=200)
    role: Role = Role.STAFF
    password: SecretStr = Field(description=_PASSWORD_DOC)


class StaffUserUpdate(Schema):
    name: str | None = Field(default=None, max_length=200)
    role: Role | None = None
    active: bool | None = Field(default=None, description="false signs them out everywhere; true lets them back.")
    password: SecretStr | None = Field(default=None, description="Sets a new password. " + _PASSWORD_DOC)


class StaffUserRead(ReadSchema):
    id: int
    email: str
    name: str
    role: str
    active: bool
    last_login_at: datetime | None
    created_at: datetime
