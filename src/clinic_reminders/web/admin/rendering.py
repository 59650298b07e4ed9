"""Jinja2 for the staff pages: the shared layout's context (user, navigation, CSRF token, notices) and filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ... import local_time
from ...models import Direction, Message, StaffUser
from ...phones import display
from .csrf import csrf_token

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent.parent / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
VENDOR_FILES = {"htmx": "htmx.min.js", "chart": "chart.umd.min.js"}

templates = Jinja2Templates(directory=TEMPLATES_DIR)


@dataclass(frozen=True)
class NavItem:
    key: str
    url: str
    label: str
    admin_only: bool
    operator_only: bool = False

    def shown_to(self, user: StaffUser) -> bool:
        if self.operator_only:
            return user.is_operator
        return user.is_admin or not self.admin_only


NAV = (
    NavItem("schedule", "/schedule", "Schedule", False),
    NavItem("inbox", "/inbox", "Inbox", False),
    NavItem("patients", "/patients", "Patients", False),
    NavItem("deliveries", "/deliveries", "Deliveries", False),
    NavItem("broadcasts", "/broadcasts", "Broadcasts", False),
    NavItem("dashboard", "/dashboard", "Dashboard", True),
    NavItem("clinics", "/clinics", "Clinics", True),
    NavItem("config", "/config", "Configuration", True),
    NavItem("setup", "/setup", "Set-up checklist", True),
    NavItem("operator", "/operator/offices", "Offices", False, operator_only=True),
)


def local(value: datetime | None, zone: str, style: str = "datetime") -> str:
    """`{{ a.starts_at|local(zone, "time") }}`: the text of `local_time.display` (4:00 PM CST), for attributes and
    sentences."""
    return local_time.display(value, zone, style)


def when(value: datetime | None, zone: str, style: str = "datetime") -> Markup:
    """`{{ a.starts_at|when(zone) }}`: the same text in a `<time>` element that carries the instant (UTC)."""
    if value is None:
        return Markup("")
    return Markup('<time datetime="{}">{}</time>').format(
        value.astimezone(UTC).isoformat(), local_time.display(value, zone, style)
    )


def money(value: Decimal | float | None, places: int = 2) -> str:
    if value is None:
        return "–"
    return f"${Decimal(value):,.{places}f}"


def phone(value: str | None) -> str:
    if not value:
        return ""
    try:
        return display(value)
    except Exception:  # a number stored before validation existed: show it as it is
        return value


templates.env.filters.update(local=local, when=when, money=money, phone=phone)


def vendor_scripts() -> dict[str, str]:
    """The vendor files present (copied from node_modules by `make assets`); pages work without them."""
    return {key: f"/static/vendor/{name}" for key, name in VENDOR_FILES.items() if (VENDOR_DIR / name).is_file()}


def flash(request: Request, text: str, kind: str = "ok") -> None:
    """A one-time notice shown on the next page (after a redirect)."""
    request.session["flash"] = [*request.session.get("flash", []), [kind, text]]


def unread_count(db: Session, office_id: int) -> int:
    stmt = select(func.count(Message.id)).where(
        Message.office_id == office_id, Message.unread.is_(True), Message.direction == Direction.INBOUND
    )
    return db.scalar(stmt) or 0


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    user: StaffUser | None = None,
    db: Session | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    ctx = dict(context or {})
    flashes = request.session.pop("flash", []) if request.session.get("flash") else []
    ctx.update(
        user=user,
        nav=[item for item in NAV if user is not None and item.shown_to(user)],
        csrf_token=csrf_token(request),
        flashes=flashes,
        vendor=vendor_scripts(),
        unread=unread_count(db, user.office_id) if db is not None and user is not None else 0,
    )
    ctx.setdefault("section", "")
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)


def render_fragment(name: str, **context: Any) -> str:
    """A partial (a schedule row, a message) as a string, for live updates and htmx swaps."""
    return templates.get_template(name).render(**context)
