"""`reminders office ...`: the operator adds, lists, suspends and resumes the offices a deployment hosts."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy.orm import Session, sessionmaker

from . import offices
from .accounts import AccountError
from .cli_options import database_option, option, settings_from
from .db import make_engine, make_sessionmaker, transaction


def _sessions(database_url: str | None) -> sessionmaker[Session]:
    return make_sessionmaker(make_engine(settings_from(database_url=database_url).database_url))


@click.group("office")
def office_group() -> None:
    """Offices hosted by this deployment (each its own tenant: Twilio account, staff, patients)."""


@office_group.command("add")
@click.argument("name")
@option("--admin-email", envvar="REMINDERS_OFFICE_ADMIN_EMAIL", required=True, help="The office's first admin.")
@option("--admin-name", envvar="REMINDERS_OFFICE_ADMIN_NAME", default="", help="Name shown on the staff pages.")
@option(
    "--password-file",
    envvar="REMINDERS_OFFICE_ADMIN_PASSWORD_FILE",
    type=click.Path(exists=True, dir_okay=False),
    help="Read the admin's password from this file instead of asking for it.",
)
@database_option
def office_add(
    name: str, admin_email: str, admin_name: str, password_file: str | None, database_url: str | None
) -> None:
    """Add an office and its first admin, who then sets up its own Twilio account on the set-up page."""
    if password_file:
        password = Path(password_file).read_text().strip()
    else:
        password = click.prompt("The admin's password", hide_input=True, confirmation_prompt=True)
    try:
        with transaction(_sessions(database_url)) as db:
            office, admin = offices.add_office(db, name, admin_email, password, admin_name)
            office_id, email = office.id, admin.email
    except (offices.OfficeError, AccountError) as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"added office {office_id} {name.strip()!r} with admin {email}")


@office_group.command("list")
@database_option
def office_list(database_url: str | None) -> None:
    """One line per office: id, state, Twilio account, name."""
    with transaction(_sessions(database_url)) as db:
        for office in offices.all_offices(db):
            state = "suspended" if office.suspended else "active"
            click.echo(f"{office.id}\t{state}\t{office.twilio_account_sid or '-'}\t{office.name}")


def _change(office_id: int, database_url: str | None, suspend: bool) -> None:
    try:
        with transaction(_sessions(database_url)) as db:
            office = offices.find(db, office_id)
            (offices.suspend if suspend else offices.resume)(db, office)
            name = office.name
    except offices.OfficeError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"office {office_id} {name!r} is {'suspended' if suspend else 'active'}")


@office_group.command("suspend")
@click.argument("office_id", type=int)
@database_option
def office_suspend(office_id: int, database_url: str | None) -> None:
    """Suspend an office: its staff cannot sign in, its webhooks are refused, its reminders wait. Data is kept."""
    _change(office_id, database_url, suspend=True)


@office_group.command("resume")
@click.argument("office_id", type=int)
@database_option
def office_resume(office_id: int, database_url: str | None) -> None:
    """Resume a suspended office."""
    _change(office_id, database_url, suspend=False)
