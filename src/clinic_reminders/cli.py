"""The `reminders` command. Every option also reads an environment variable, shown in `--help`."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import click
from dotenv import load_dotenv

from . import accounts, demo, logs, offices
from .benchmarks.dispatch import bench_dispatch_command
from .benchmarks.fleet import bench_fleet_command
from .benchmarks.import_csv import bench_import_command
from .benchmarks.pages import bench_pages_command
from .benchmarks.schedule import bench_schedule_command
from .benchmarks.webhook import bench_webhook_command
from .benchmarks.writeback import bench_writeback_command
from .cli_options import database_option, office_option, option, settings_from
from .db import make_engine, make_sessionmaker, transaction
from .doctor.cli import cert_group, doctor_command, setup_group
from .imports.cli import import_group
from .migrations import upgrade
from .models import Role
from .office_cli import office_group
from .settings import SettingsError
from .simulator.cli import bench_simulator_command, simulator_command


class _ReadsDotEnv(click.Group):
    """Reads `.env` before any option looks for its variable, so that options and settings see the same values
    (the environment still wins over the file)."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        load_dotenv(".env", override=False)
        return super().make_context(info_name, args, parent, **extra)


@click.group(cls=_ReadsDotEnv, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="clinic-reminders")
@option("--log-level", envvar="REMINDERS_LOG_LEVEL", default="INFO", show_default=True)
@option(
    "--log-format",
    envvar="REMINDERS_LOG_FORMAT",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one JSON object a line, for log collectors.",
)
def main(log_level: str, log_format: str) -> None:
    """Appointment reminders for medical offices, on Twilio."""
    logs.configure(log_level, log_format)


@main.group()
def bench() -> None:
    """Benchmarks that print their figures (ratios against a baseline measured in the same run)."""
    logging.getLogger("alembic").setLevel(logging.WARNING)  # each run migrates fresh databases: not news


main.add_command(simulator_command, "simulator")
bench.add_command(bench_simulator_command, "simulator")
bench.add_command(bench_dispatch_command, "dispatch")
bench.add_command(bench_fleet_command, "fleet")
bench.add_command(bench_webhook_command, "webhook")
bench.add_command(bench_pages_command, "pages")
bench.add_command(bench_import_command, "import")
bench.add_command(bench_writeback_command, "writeback")
bench.add_command(bench_schedule_command, "schedule")
main.add_command(doctor_command, "doctor")
main.add_command(import_group, "import")
main.add_command(setup_group, "setup")
main.add_command(cert_group, "cert")
main.add_command(office_group, "office")


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@database_option
def db_upgrade(database_url: str | None) -> None:
    """Create or migrate the database schema to the latest version."""
    settings = settings_from(database_url=database_url)
    upgrade(settings.database_url)
    click.echo("database is up to date")


@main.group()
def user() -> None:
    """Staff users."""


@user.command("add")
@click.argument("email")
@option(
    "--role",
    envvar="REMINDERS_USER_ROLE",
    type=click.Choice([r.value for r in Role]),
    default="staff",
    show_default=True,
)
@option("--name", envvar="REMINDERS_USER_NAME", default="", help="Name shown on the staff pages.")
@option(
    "--password-file",
    envvar="REMINDERS_USER_PASSWORD_FILE",
    type=click.Path(exists=True, dir_okay=False),
    help="Read the password from this file instead of asking for it.",
)
@office_option
@database_option
def user_add(
    email: str, role: str, name: str, password_file: str | None, office_id: int | None, database_url: str | None
) -> None:
    """Create a staff user (the first one should be an admin; an operator manages every office)."""
    settings = settings_from(database_url=database_url)
    if password_file:
        password = Path(password_file).read_text().strip()
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    sessions = make_sessionmaker(make_engine(settings.database_url))
    try:
        with transaction(sessions) as session:
            office = offices.chosen(session, office_id)
            accounts.add_user(session, office, email, Role(role), password, name=name)
    except (accounts.AccountError, offices.OfficeError) as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"added {role} {email.strip().lower()}")


@main.command()
@click.argument("email")
@database_option
def token(email: str, database_url: str | None) -> None:
    """Print a new API bearer token for a staff user (shown once; only its hash is stored)."""
    settings = settings_from(database_url=database_url)
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with transaction(sessions) as session:
        found = accounts.find_user(session, email)
        if found is None or not found.active:
            raise click.ClickException(f"no active user {email}")
        click.echo(accounts.issue_token(session, found))


host_option = option("--host", envvar="REMINDERS_HOST", default="127.0.0.1", show_default=True)
writeback_option = option(
    "--writeback/--no-writeback",
    envvar="REMINDERS_WRITEBACK",
    default=None,
    help="Deliver write-back to the practice-management system in this process (default: on).",
)
port_option = option("--port", envvar="REMINDERS_PORT", default=8080, type=int, show_default=True)


@main.command()
@host_option
@port_option
@option(
    "--workers",
    envvar="REMINDERS_WEB_WORKERS",
    default=1,
    type=int,
    show_default=True,
    help="Web server processes (use PostgreSQL for more than one).",
)
@database_option
@option(
    "--certfile",
    envvar="REMINDERS_TLS_CERTFILE",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Serve HTTPS (TLS 1.2+, strong ciphers) with this PEM certificate chain.",
)
@option(
    "--keyfile",
    envvar="REMINDERS_TLS_KEYFILE",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="The certificate's private key.",
)
@option(
    "--behind-proxy",
    envvar="REMINDERS_BEHIND_PROXY",
    is_flag=True,
    help="A reverse proxy terminates TLS: trust its X-Forwarded-* (signatures still use the public URL).",
)
@writeback_option
def serve(
    host: str,
    port: int,
    workers: int,
    database_url: str | None,
    certfile: str | None,
    keyfile: str | None,
    behind_proxy: bool,
    writeback: bool | None,
) -> None:
    """Serve the web service (API, Twilio webhooks, staff pages), with the dispatcher and write-back embedded."""
    settings = settings_from(database_url=database_url, host=host, port=port, writeback=writeback)
    try:
        settings.check_secret_key()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc
    if database_url:
        os.environ["REMINDERS_DATABASE_URL"] = database_url
    if writeback is not None:
        os.environ["REMINDERS_WRITEBACK"] = "1" if writeback else "0"  # read by the server process's settings
    for name, value in (("REMINDERS_TLS_CERTFILE", certfile), ("REMINDERS_TLS_KEYFILE", keyfile)):
        if value:
            os.environ[name] = value  # the server process's doctor and certificate watch read them
    _run_uvicorn(host, port, workers, certfile=certfile, keyfile=keyfile, behind_proxy=behind_proxy)


def _run_uvicorn(
    host: str,
    port: int,
    workers: int,
    *,
    certfile: str | None = None,
    keyfile: str | None = None,
    behind_proxy: bool = False,
) -> None:
    import uvicorn

    from .tls import uvicorn_ssl_context

    tls: dict[str, Any] = {}
    if certfile:
        tls = {"ssl_certfile": certfile, "ssl_keyfile": keyfile, "ssl_context_factory": uvicorn_ssl_context}
    uvicorn.run(
        "clinic_reminders.web.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=behind_proxy,
        server_header=False,
        log_level="info",
        access_log=False,  # web.access_log logs requests without their query strings (patient data)
        **tls,
    )


@main.command()
@option("--once", envvar="REMINDERS_WORKER_ONCE", is_flag=True, help="Send what is due now, then exit.")
@option("--batch-size", envvar="REMINDERS_WORKER_BATCH_SIZE", default=200, type=int, show_default=True)
@writeback_option
@database_option
def worker(once: bool, batch_size: int, writeback: bool | None, database_url: str | None) -> None:
    """Dispatch due reminders and deliver write-back (run several on PostgreSQL; on SQLite one is enough).

    With --once, only the reminders due now are sent."""
    import asyncio

    from .dispatcher.supervisor import Dispatcher
    from .dispatcher.worker import Worker
    from .effective import NotConfigured
    from .writeback import engine

    settings = settings_from(database_url=database_url, writeback=writeback)
    try:
        settings.check_secret_key()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc
    sessions = make_sessionmaker(make_engine(settings.database_url))

    def new_worker() -> Worker:
        return Worker(settings, sessions, batch_size=batch_size)

    # Without --once, a worker that dies of a bug is logged and replaced (it outlives database errors by itself),
    # and so is the write-back engine beside it.
    runners: list[Any] = [new_worker()] if once else [Dispatcher(new_worker)]
    if settings.writeback and not once:
        runners.append(engine.supervised(settings, sessions))
    try:
        asyncio.run(_run_worker(runners, once))
    except NotConfigured as exc:  # only with --once: reminders are due and cannot be sent
        raise click.ClickException(f"nothing sent: {exc}; `reminders doctor` shows what to set up") from exc


async def _run_worker(runners: list[Any], once: bool) -> None:
    import asyncio
    import signal

    def stop() -> None:  # finish in-flight sends and record them, then exit
        for runner in runners:
            runner.stop()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    await asyncio.gather(*(runner.run(once=True) if once else runner.run() for runner in runners))


@main.command("demo")
@host_option
@port_option
@database_option
@option("--seed-only", envvar="REMINDERS_DEMO_SEED_ONLY", is_flag=True, help="Seed the database, do not serve.")
@option(
    "--unregistered",
    envvar="REMINDERS_DEMO_UNREGISTERED",
    is_flag=True,
    help="Start the simulated account with nothing registered with US carriers: texts wait, calls go out.",
)
def demo_command(host: str, port: int, database_url: str | None, seed_only: bool, unregistered: bool) -> None:
    """Migrate and seed a demo office, then serve it on http://HOST:PORT with the built-in Twilio simulator."""
    settings = settings_from(database_url=database_url, demo=True)
    upgrade(settings.database_url)
    simulated = {} if settings.twilio_account_sid else demo.simulator_environment(host, port)
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with transaction(sessions) as session:
        office = accounts.the_office(session)
        created = demo.seed(session, office, history_days=demo.HISTORY_DAYS)
        demo.ensure_demo_users(session, office)
        if simulated:  # the simulated account's number, and its registration as the simulator will start it
            demo.use_simulated_account(session, office, simulated["TWILIO_ACCOUNT_SID"], registered=not unregistered)
    click.echo("seeded a demo office" if created else "the demo office is already seeded")
    if simulated:
        click.echo("US carrier registration: " + ("none yet (texts wait)" if unregistered else "approved"))
    if seed_only:
        return
    os.environ["REMINDERS_DEMO"] = "1"  # read by the server process's app factory
    os.environ["REMINDERS_DATABASE_URL"] = settings.database_url
    os.environ.update(simulated)  # no real account given: the built-in simulator stands in for Twilio
    demo.save_settings(settings.database_url, simulated)  # for `reminders doctor` beside the demo
    click.echo(
        f"\n  clinic-reminders demo on http://{host}:{port}/\n"
        f"  sign in as {demo.DEMO_ADMIN_EMAIL} (admin) or {demo.DEMO_STAFF_EMAIL} (staff),"
        f" password {demo.DEMO_PASSWORD}\n"
        f"  the simulated patients' phones are at http://{host}:{port}/simulator/\n",
    )
    sys.stdout.flush()
    _run_uvicorn(host, port, 1)
