"""Commands `reminders doctor`, `reminders setup twilio` and `reminders cert self-signed`.

The main cli.py registers them. Every option also reads an environment variable, shown in --help. Secrets are
never printed: not the auth token, not the API key secret (only the key's SID).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from .. import offices
from ..cli_options import database_option, office_option, option, settings_from
from ..db import make_engine, make_sessionmaker, transaction
from ..demo import SETTINGS_FILE, saved_settings
from ..gateways import AvailableNumber
from ..models import Office
from ..refusals import Refused
from ..registration.fees import Fee, described
from ..settings import Settings, SettingsError
from ..tls import TEST_LABEL, write_self_signed
from .checks import Status
from .context import DoctorContext
from .provision import Provisioner
from .register import Registrar
from .runner import Report, run_doctor
from .steps import Step

STYLES = {
    Status.OK: ("ok", "green"),
    Status.WARNING: ("WARN", "yellow"),
    Status.FAILED: ("FAIL", "red"),
    Status.SKIPPED: ("skip", "bright_black"),
}


def format_report(report: Report) -> str:
    width = max(len(r.id) for r in report.results)
    lines = []
    for result in report.results:
        label, color = STYLES[result.status]
        lines.append(f"{click.style(f'{label:<4}', fg=color)}  {result.id:<{width}}  {result.explanation}")
        if result.fix and result.status in (Status.FAILED, Status.WARNING):
            lines.append(f"      {'':<{width}}  fix: {result.fix}")
    counts = report.counts
    summary = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    lines.append("")
    lines.append(("all set: " if report.ok else "needs attention: ") + summary)
    return "\n".join(lines)


_DEMO_NOTE = (
    "This database belongs to the demo (`reminders demo`): it is checked with the demo's settings, from {file}.\n"
    "Its Twilio is the simulator inside the demo's server, so those checks need the demo running (`make demo`).\n"
)


def _doctor(settings: Settings, office_id: int | None) -> Report:
    engine = make_engine(settings.database_url)
    try:
        sessions = make_sessionmaker(engine)
        return run_doctor(DoctorContext(settings, sessions, office_id=_office_id(sessions, office_id)))
    finally:
        engine.dispose()


def _office_id(sessions: sessionmaker[Session], office_id: int | None) -> int | None:
    """The office named (which must exist), or the only one; as given when the database cannot say (the doctor
    reports why)."""
    try:
        with transaction(sessions) as db:
            if office_id is None and db.scalar(select(Office.id).limit(1)) is None:
                return None
            return offices.chosen(db, office_id).id
    except Refused as exc:
        raise click.ClickException(exc.detail) from None
    except SQLAlchemyError:
        return office_id


@click.command("doctor")
@option("--json", "as_json", envvar="REMINDERS_DOCTOR_JSON", is_flag=True, help="Print the report as JSON.")
@office_option
@database_option
def doctor_command(as_json: bool, office_id: int | None, database_url: str | None) -> None:
    """Check the set-up (settings, database, HTTPS certificate, Twilio account, number, webhooks, caller IDs,
    API key, dispatcher) of the office and say how to fix what is wrong. Exits with 1 when a check failed."""
    settings = settings_from(database_url=database_url)
    demo_settings = saved_settings(settings.database_url)
    if demo_settings is not None:
        settings = settings_from(**{k: v for k, v in demo_settings.items() if k not in os.environ})
        if not as_json:
            click.echo(_DEMO_NOTE.format(file=SETTINGS_FILE), err=True)
    report = _doctor(settings, office_id)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(format_report(report))
    sys.exit(0 if report.ok else 1)


@click.group("setup")
def setup_group() -> None:
    """Set up the Twilio account through its API instead of by hand."""


def _prompt_choice(candidates: Sequence[AvailableNumber]) -> str | None:
    for index, number in enumerate(candidates[:10], start=1):
        where = ", ".join(p for p in (number.locality, number.region) if p)
        click.echo(f"  {index:>2}. {number.friendly_name or number.phone_number}  {where}")
    picked = click.prompt("Number to buy", type=click.IntRange(1, min(10, len(candidates))), default=1)
    return candidates[int(picked) - 1].phone_number


def _accept(fees: list[Fee]) -> bool:
    click.echo(f"Registering costs money (accepted with --yes): {described(fees)}")
    return True


def _confirm_fees(fees: list[Fee]) -> bool:
    click.echo(f"Registering costs money: {described(fees)}")
    return click.confirm("Go on and submit?", default=False)


MARKS = {"done": ("✓", "green"), "unchanged": ("=", "bright_black"), "action_needed": ("!", "yellow")}


def _print_step(step: Step) -> None:
    mark, color = MARKS.get(step.status, ("✗", "red"))
    click.echo(f"{click.style(mark, fg=color)} {step.id:<11} {step.message}")
    listed = step.data.get("problems")
    if isinstance(listed, dict):  # the business profile's fields: what is missing or wrong
        for field, why in listed.items():
            click.echo(f"    {field}: {why}")
    for verification in step.data.get("verifications", []):
        click.echo(
            f"    Twilio is calling {verification['clinic']} at {verification['phone_number']}: "
            f"answer and type {click.style(verification['validation_code'], bold=True)}"
        )


@setup_group.command("twilio")
@option("--account-sid", envvar="TWILIO_ACCOUNT_SID", default=None, help="Account SID (AC...); default: saved one.")
@option("--auth-token", envvar="TWILIO_AUTH_TOKEN", default=None, help="Auth Token; asked for (hidden) if missing.")
@option("--area-code", envvar="REMINDERS_SETUP_AREA_CODE", type=int, default=None, help="Buy a number here.")
@option("--city", envvar="REMINDERS_SETUP_CITY", default=None, help="Or in this city (US).")
@option("--number", envvar="REMINDERS_SETUP_NUMBER", default=None, help="Buy (or adopt) exactly this number.")
@option("--yes", "-y", envvar="REMINDERS_SETUP_YES", is_flag=True, help="Do not ask; take the first number found.")
@option("--public-url", envvar="REMINDERS_PUBLIC_URL", default=None, help="https://host:port Twilio calls back.")
@option(
    "--register",
    envvar="REMINDERS_SETUP_REGISTER",
    is_flag=True,
    help="Also register for US texting (A2P 10DLC or toll-free verification) from the business profile.",
)
@office_option
@database_option
def setup_twilio(
    account_sid: str | None,
    auth_token: str | None,
    area_code: int | None,
    city: str | None,
    number: str | None,
    yes: bool,
    public_url: str | None,
    register: bool,
    office_id: int | None,
    database_url: str | None,
) -> None:
    """Buy (or adopt) a number, point its SMS (GET) and voice URLs at /app_confirm, create the office's Messaging
    Service with the number as sender, verify the clinics' phones as caller IDs, create the video API key, save it
    all encrypted in the office row, then run the doctor. With --register, also submit the office's carrier
    registration (it costs money: the fees are shown and asked about first; --yes accepts them). Running it again
    changes nothing that is already right, never buys a second number and never registers twice."""
    settings = settings_from(database_url=database_url, public_url=public_url)
    try:
        settings.check_secret_key()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    try:
        office_id = _office_id(sessions, office_id)
        stored = DoctorContext(settings, sessions, office_id=office_id).twilio
        account_sid = account_sid or stored.account_sid or (None if yes else click.prompt("Twilio Account SID"))
        if not auth_token and account_sid == stored.account_sid:
            auth_token = stored.auth_token
        if not auth_token and not yes:
            auth_token = click.prompt("Twilio Auth Token", hide_input=True)
        if not account_sid or not auth_token:
            raise click.ClickException("give --account-sid and --auth-token (or TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN)")
        gateway = stored.with_credentials(account_sid, auth_token).gateway(timeout=settings.twilio_timeout)
        provisioner = Provisioner(settings, sessions, gateway, auth_token=auth_token, office_id=office_id)
        steps = provisioner.run(
            choice=number, area_code=area_code, city=city, choose=None if yes or number else _prompt_choice
        )
        if register and not any(step.status == "failed" for step in steps[:1]):
            confirm = _accept if yes else _confirm_fees
            steps += Registrar(settings, sessions, gateway, office_id=office_id, confirm=confirm).run()
        for step in steps:
            _print_step(step)
        click.echo("")
        click.echo(format_report(_doctor(settings, office_id)))
    except SQLAlchemyError as exc:
        raise click.ClickException(
            f"the database is not ready ({type(exc).__name__}): run `reminders db upgrade`"
        ) from None
    finally:
        engine.dispose()
    if any(step.status == "failed" for step in steps):
        sys.exit(1)


@click.group("cert")
def cert_group() -> None:
    """Certificates for HTTPS."""


@cert_group.command("self-signed")
@option("--host", envvar="REMINDERS_CERT_HOST", default="localhost", show_default=True, help="DNS name or IP.")
@option(
    "--out-dir",
    envvar="REMINDERS_CERT_OUT_DIR",
    default="var/tls",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
)
@option("--days", envvar="REMINDERS_CERT_DAYS", default=90, show_default=True, type=click.IntRange(1, 825))
@option("--key-type", envvar="REMINDERS_CERT_KEY_TYPE", default="rsa", type=click.Choice(["rsa", "ec"]))
def cert_self_signed(host: str, out_dir: Path, days: int, key_type: str) -> None:
    """Make a self-signed certificate FOR TESTING ONLY: Twilio refuses self-signed certificates."""
    cert_path, key_path = write_self_signed(host, out_dir, days=days, key_kind=key_type)
    click.echo(f"wrote {cert_path} and {key_path} ({TEST_LABEL}; {days} days, {key_type})")
    click.echo(f"try it: reminders serve --certfile {cert_path} --keyfile {key_path}")
