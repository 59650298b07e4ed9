"""`reminders import csv|hl7|fhir FILE`: the schedule from the practice-management system (the main cli.py
registers the group; the formats' readers and the one upsert path live beside this module)."""

from __future__ import annotations

import asyncio
import signal
from typing import BinaryIO

import click
import phonenumbers
from click.core import ParameterSource
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from ..cli_options import database_option, option, settings_from
from ..db import make_engine, make_sessionmaker
from . import READERS, csv_file, mllp, upsert
from .records import UnusableInput


@click.group("import")
def import_group() -> None:
    """Take the schedule from the practice-management system: CSV, HL7 v2 SIU or FHIR R4.

    \b
    Patients and appointments are matched by their id in that system: re-importing a file changes nothing,
    a new start time moves the appointment and its reminders, a cancellation cancels them. Each record is
    imported or rejected on its own. Exit status: 0 all imported, 1 some records rejected (each is listed
    with its line, message or entry), 2 unusable input (unreadable, or not the format).
    """


class _UnusableInput(click.ClickException):
    exit_code = 2


def _phone_region(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    region = value.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise click.BadParameter("not a two-letter country code such as US, CA or GB")
    return region


def _listen_address(_ctx: click.Context, _param: click.Parameter, value: str | None) -> tuple[str, int] | None:
    if value is None:
        return None
    host, _colon, port = value.strip().rpartition(":")
    if not port.isdigit() or int(port) > 65535:
        raise click.BadParameter("not [HOST:]PORT, e.g. 2575 or 0.0.0.0:2575")
    return host.strip("[]") or "127.0.0.1", int(port)


import_file_argument = click.argument("file", type=click.File("rb"))
import_clinic_option = option(
    "--clinic",
    envvar="REMINDERS_IMPORT_CLINIC",
    default=None,
    help="Clinic (name or id) of new appointments whose record names none.",
)
import_region_option = option(
    "--phone-region",
    envvar="REMINDERS_IMPORT_PHONE_REGION",
    default="US",
    show_default=True,
    callback=_phone_region,
    help="Country of phone numbers written without +country code.",
)


def _sessions(database_url: str | None) -> sessionmaker[Session]:
    settings = settings_from(database_url=database_url)
    # hide_parameters: a database error must not print the patient data it was writing
    return make_sessionmaker(make_engine(settings.database_url, hide_parameters=True))


def _import(source: str, file: BinaryIO, clinic: str | None, phone_region: str, database_url: str | None) -> None:
    name = getattr(file, "name", "<stdin>")
    try:
        items = READERS[source](file.read(), phone_region)
    except UnusableInput as exc:
        raise _UnusableInput(f"{name}: {exc}") from exc
    sessions = _sessions(database_url)
    try:
        summary = upsert.run(sessions, items, source, default_clinic=clinic)
    except DBAPIError as exc:
        raise click.ClickException(
            f"the database failed, import stopped ({exc.orig}); check the URL, or run `reminders db upgrade`"
        ) from None
    for rejection in summary.rejections:
        click.echo(f"{name}: {rejection}", err=True)
    for line in summary.lines():
        click.echo(line)
    if summary.rejections:
        click.get_current_context().exit(1)


@import_group.command("csv", epilog=csv_file.HELP)
@import_file_argument
@import_clinic_option
@import_region_option
@database_option
def import_csv(file: BinaryIO, clinic: str | None, phone_region: str, database_url: str | None) -> None:
    """Import a CSV file (FILE, or - for standard input): a header row, then one line per appointment."""
    _import("csv", file, clinic, phone_region, database_url)


@import_group.command("hl7")
@click.argument("file", type=click.File("rb"), required=False)
@option(
    "--listen",
    envvar="REMINDERS_HL7_LISTEN",
    metavar="[HOST:]PORT",
    callback=_listen_address,
    help="Instead of FILE: take a live feed over MLLP on this address (host 127.0.0.1 unless given), answer each "
    "message with an ACK, and stop on Ctrl-C or SIGTERM. FILE, when given, wins over the environment variable.",
)
@import_clinic_option
@import_region_option
@database_option
def import_hl7(
    file: BinaryIO | None,
    listen: tuple[str, int] | None,
    clinic: str | None,
    phone_region: str,
    database_url: str | None,
) -> None:
    """Import HL7 v2 SIU messages (S12-S15, S17, S26) from FILE or - : one after another, or MLLP-framed; or
    listen for them with --listen.

    \b
    Read: SCH-1/2 appointment id, SCH-11.4 start, SCH-9/10 duration, AIL-3 clinic, AIP-3 provider,
    PID-3 patient id, PID-5 name, PID-7 birth date, PID-13/14 phones, PID-15 language.
    A live feed is answered AA (imported), AE (rejected: MSA-3 and ERR name the field) or AR (unreadable,
    or the database failed: send it again).
    """
    given = click.get_current_context().get_parameter_source("listen")
    if file is not None and listen is not None and given is not ParameterSource.ENVIRONMENT:
        raise click.UsageError("give FILE or --listen, not both")
    if file is not None:
        _import("hl7", file, clinic, phone_region, database_url)
    elif listen is not None:
        listener = mllp.Listener(_sessions(database_url), phone_region=phone_region, default_clinic=clinic)
        asyncio.run(_listen(listener, *listen))
    else:
        raise click.UsageError("Missing argument 'FILE' (or --listen [HOST:]PORT).")


async def _listen(listener: mllp.Listener, host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, listener.stop)  # answer the message in hand, then close
    try:
        await listener.start(host, port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    await listener.wait_closed()


@import_group.command("fhir")
@import_file_argument
@import_clinic_option
@import_region_option
@database_option
def import_fhir(file: BinaryIO, clinic: str | None, phone_region: str, database_url: str | None) -> None:
    """Import a FHIR R4 Bundle (JSON) of Appointments and their Patients from FILE or - .

    \b
    Appointment: id, status (booked/pending, cancelled, noshow), start, minutesDuration or end, participants:
    Patient (in the bundle or Patient/id), Location (clinic, by name), Practitioner (provider, by name).
    Patient: id, name, birthDate, telecom (phone; use mobile, home or work), communication language.
    """
    _import("fhir", file, clinic, phone_region, database_url)
