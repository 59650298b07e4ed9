"""Request dependencies: the database session, the signed-in staff user, and role checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..accounts import OfficeSuspended, check_office_active
from ..crypto import hash_api_token
from ..effective import TwilioConfig
from ..gateways import TwilioGateway
from ..models import ApiToken, Office, StaffUser, utcnow
from ..settings import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Iterator[Session]:
    """One session per request; the handler commits, anything unhandled rolls back."""
    factory: sessionmaker[Session] = request.app.state.sessions
    with factory() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
DbDep = Annotated[Session, Depends(get_db)]

_NOT_SIGNED_IN = HTTPException(
    status_code=status.HTTP_401_UNAUTHORIZED,
    detail="Sign in first: send 'Authorization: Bearer <token>' (see `reminders token EMAIL`) or a session cookie.",
    headers={"WWW-Authenticate": "Bearer"},
)


def _user_from_bearer(db: Session, header: str) -> StaffUser | None:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    row = db.scalar(select(ApiToken).where(ApiToken.token_hash == hash_api_token(token.strip())))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    return row.user


def get_current_user(request: Request, db: DbDep) -> StaffUser:
    """401 without a valid token or session; 403 while the user's office is suspended."""
    header = request.headers.get("authorization")
    if header:
        user = _user_from_bearer(db, header)
        if user is None:
            raise _NOT_SIGNED_IN
    else:
        user_id = request.session.get("user_id") if "session" in request.scope else None
        if user_id is None:
            raise _NOT_SIGNED_IN
        user = db.get(StaffUser, user_id)
        if user is None or not user.active:
            request.session.clear()
            raise _NOT_SIGNED_IN
    try:
        check_office_active(db, user)
    except OfficeSuspended as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=exc.message) from exc
    return user


CurrentUser = Annotated[StaffUser, Depends(get_current_user)]


def require_admin(user: CurrentUser) -> StaffUser:
    if not user.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="This needs the admin role.")
    return user


AdminUser = Annotated[StaffUser, Depends(require_admin)]


def require_operator(user: CurrentUser) -> StaffUser:
    """404, not 403: the operator's API does not exist for an office's staff."""
    if not user.is_operator:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Not Found")
    return user


OperatorUser = Annotated[StaffUser, Depends(require_operator)]


def get_office(user: CurrentUser, db: DbDep) -> Office:
    """The signed-in user's office: every query is scoped to it."""
    office = db.get(Office, user.office_id)
    if office is None:  # the office row was deleted under a live session
        raise _NOT_SIGNED_IN
    return office


OfficeDep = Annotated[Office, Depends(get_office)]


def audit_actor(user: StaffUser) -> str:
    return f"user:{user.id}"


__all__ = [
    "AdminUser",
    "CurrentUser",
    "DbDep",
    "OfficeDep",
    "OperatorUser",
    "SettingsDep",
    "audit_actor",
    "utcnow",
]


def shared_gateway(app: Any, config: TwilioConfig) -> TwilioGateway:
    """One gateway (and its connection pool) per Twilio account for the web process, made on first use and
    closed at shutdown (web/lifecycle.py). Raises `NotConfigured` while the account is not set up."""
    state = app.state
    if not hasattr(state, "gateways"):
        state.gateways = {}
    cache: dict[tuple[str | None, str | None, str | None], TwilioGateway] = state.gateways
    key = (config.account_sid, config.auth_token, config.base_url)
    if key not in cache:
        cache[key] = config.gateway(timeout=state.settings.twilio_timeout)
    return cache[key]
