"""`reminders import csv|hl7|fhir FILE`: the schedule from the practice-management system (the main cli.py
registers the group; the formats' readers and the one upsert path live beside this module)."""

from __future__ import annotations

from typing import BinaryIO

import click
import phonenumbers
from sqlalchemy.exc import DBAPIError

from ..cli_options import database_option, option, settings_from
from ..db import make_engine, make_sessionmaker
from . import READERS, csv_file, upsert
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


def _import(source: str, file: BinaryIO, clinic: str | None, phone_region: str, database_url: str | None) -> None:
    settings = settings_from(database_url=database_url)
    name = getattr(file, "name", "<stdin>")
    try:
        items = READERS[source](file.read(), phone_region)
    except UnusableInput as exc:
        raise _UnusableInput(f"{name}: {exc}") from exc
    # hide_parameters: a database error must not print the patient data it was writing
    sessions = make_sessionmaker(make_engine(settings.database_url, hide_parameters=True))
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
@import_file_argument
@import_clinic_option
@import_region_option
@database_option
def import_hl7(file: BinaryIO, clinic: str | None, phone_region: str, database_url: str | None) -> None:
    """Import HL7 v2 SIU messages (S12-S15, S17, S26) from FILE or - : one after another, or MLLP-framed.

    \b
    Read: SCH-1/2 appointment id, SCH-11.4 start, SCH-9/10 duration, AIL-3 clinic, AIP-3 provider,
    PID-3 patient id, PID-5 name, PID-7 birth date, PID-13/14 phones, PID-15 language.
    """
    _import("hl7", file, clinic, phone_region, database_url)


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
