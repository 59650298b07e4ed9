"""`reminders import csv|hl7|fhir FILE`: the schedule from the practice-management system (the main cli.py
registers the group; the formats' readers and the one upsert path live beside this module)."""

from __future__ import annotations

import asyncio
import signal
import ssl
from typing import BinaryIO

import click
import phonenumbers
from click.core import ParameterSource
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from .. import offices
from ..cli_options import database_option, office_option, option, settings_from
from ..db import make_engine, make_sessionmaker, transaction
from . import MAX_BYTES, READERS, csv_file, mllp, upsert
from .records import UnusableInput


@click.group("import")
def import_group() -> None:
    """Take the schedule from the practice-management system: CSV, HL7 v2 (SIU, ADT) or FHIR R4.

    \b
    Patients and appointments are matched by their id in that system: re-importing a file changes nothing,
    a new start time moves the appointment and its reminders, a cancellation cancels them. Each record is
    imported or rejected on its own. Exit status: 0 all imported, 1 some records rejected (each is listed
    with its line, message or entry), 2 unusable input (unreadable, or not the format). Warnings about
    records imported (a value dropped, a PMS code not mapped yet, a start in the past) are listed too;
    map the codes on the configuration page (PMS codes).

    \b
    A file cut short (a transfer that broke off) is told by its end: every CSV line and every plain HL7
    segment ends with a line break (CR, LF or CRLF), the last one too, and every MLLP frame with FS. A last
    line, message or frame without its end is refused, naming the field the cut fell in, and the records
    before it are imported. A cut exactly at a line break cannot be seen: the file reads as fewer whole
    records (in a plain HL7 file, as its last message without its last segments; MLLP framing has no such
    blind spot). A line with fewer values than the header has columns is refused, as is a control
    character (NUL, tab, line break...) in a name, an id or a clinic or provider name. A FHIR file over
    128 MiB, nested more than 64 deep or with a number over 32 characters is refused whole (exit 2).
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


def _tls_context(cert: str | None, key: str | None, client_ca: str | None) -> ssl.SSLContext | None:
    """The live feed's TLS from --tls-cert, --tls-key and --tls-client-ca (None: plain MLLP); a file that cannot
    serve is a usage error that names its option."""
    if cert is None and key is None:
        if client_ca is not None:
            raise click.UsageError("--tls-client-ca needs --tls-cert and --tls-key")
        return None
    if cert is None or key is None:
        raise click.UsageError("--tls-cert and --tls-key go together: give both, or neither")
    try:
        return mllp.tls_context(cert, key, client_ca)
    except ssl.SSLError as exc:
        # OpenSSL says "PEM lib" for a bad certificate and a bad key alike: look at the files one by one
        if exc.reason == "KEY_VALUES_MISMATCH":
            hint, problem = "--tls-key", f"{key!r} is not the key of the certificate in {cert!r}"
        elif not _holds_certificates(cert):
            hint, problem = "--tls-cert", f"{cert!r} does not hold readable PEM certificates"
        elif client_ca is not None and not _holds_certificates(client_ca):
            hint, problem = "--tls-client-ca", f"{client_ca!r} does not hold readable PEM certificates"
        else:
            hint, problem = "--tls-key", f"{key!r} is not an unencrypted PEM private key"
        raise click.BadParameter(problem, param_hint=f"'{hint}'") from None
    except OSError as exc:  # a file that went away after the options were checked
        raise click.ClickException(f"cannot read the TLS files ({exc.strerror or exc})") from None


def _holds_certificates(path: str) -> bool:
    """Whether the file is PEM certificates (and perhaps a key) that OpenSSL can read."""
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=path)
    except (ssl.SSLError, OSError):
        return False
    return True


_pem_file = click.Path(exists=True, dir_okay=False, readable=True)
_TLS_PARAMETERS = ("tls_cert", "tls_key", "tls_client_ca")

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


def _office(sessions: sessionmaker[Session], office_id: int | None) -> int:
    """The id of the office the records go to."""
    try:
        with transaction(sessions) as db:
            return offices.chosen(db, office_id).id
    except offices.OfficeError as exc:
        raise click.ClickException(exc.detail) from exc


def _import(
    source: str, file: BinaryIO, clinic: str | None, phone_region: str, office_id: int | None, database_url: str | None
) -> None:
    name = getattr(file, "name", "<stdin>")
    limit = MAX_BYTES.get(source)
    try:
        items = READERS[source](file.read() if limit is None else file.read(limit + 1), phone_region)
    except UnusableInput as exc:
        raise _UnusableInput(f"{name}: {exc}") from exc
    sessions = _sessions(database_url)
    office = _office(sessions, office_id)
    try:
        summary = upsert.run(sessions, items, source, default_clinic=clinic, office_id=office)
    except DBAPIError as exc:
        raise click.ClickException(
            f"the database failed, import stopped ({exc.orig}); check the URL, or run `reminders db upgrade`"
        ) from None
    for rejection in summary.rejections:
        click.echo(f"{name}: {rejection}", err=True)
    for notice in summary.warnings:
        click.echo(f"{name}: {notice}", err=True)
    for line in summary.lines():
        click.echo(line)
    if summary.rejections:
        click.get_current_context().exit(1)


@import_group.command("csv", epilog=csv_file.HELP)
@import_file_argument
@import_clinic_option
@import_region_option
@office_option
@database_option
def import_csv(
    file: BinaryIO, clinic: str | None, phone_region: str, office_id: int | None, database_url: str | None
) -> None:
    """Import a CSV file (FILE, or - for standard input): a header row, then one line per appointment."""
    _import("csv", file, clinic, phone_region, office_id, database_url)


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
@option(
    "--tls-cert",
    envvar="REMINDERS_HL7_TLS_CERT",
    type=_pem_file,
    metavar="PATH",
    help="With --listen: MLLP over TLS (1.2 or later, strong ciphers only) with this PEM certificate chain.",
)
@option(
    "--tls-key",
    envvar="REMINDERS_HL7_TLS_KEY",
    type=_pem_file,
    metavar="PATH",
    help="The certificate's private key (PEM, unencrypted).",
)
@option(
    "--tls-client-ca",
    envvar="REMINDERS_HL7_TLS_CLIENT_CA",
    type=_pem_file,
    metavar="PATH",
    help="With --tls-cert: serve only senders with a client certificate signed by this CA (PEM): mutual TLS.",
)
@import_clinic_option
@import_region_option
@office_option
@database_option
def import_hl7(
    file: BinaryIO | None,
    listen: tuple[str, int] | None,
    tls_cert: str | None,
    tls_key: str | None,
    tls_client_ca: str | None,
    clinic: str | None,
    phone_region: str,
    office_id: int | None,
    database_url: str | None,
) -> None:
    """Import HL7 v2 SIU messages (S12-S15, S17, S26) and ADT patient updates (A04, A05, A08, A28, A31) from FILE
    or - : one after another, or MLLP-framed; or listen for them with --listen.

    \b
    Read: SCH-1/2 appointment id, TQ1-7 start (else AIS-4, SCH-11.4), TQ1-6 duration (else AIS-7/8,
    SCH-9/10), AIL-3 or PV1-3 location code, AIP-3 or PV1-7 provider code (mapped on the configuration
    page, else taken as a name), PID-3 patient id, PID-5 name, PID-7 birth date, PID-13/14 phones, PID-15
    language. An optional value that does not read is dropped with a warning. A live feed is answered AA
    (imported; ERR of severity W for each warning), AE (rejected: MSA-3 and ERR name the field) or AR
    (unreadable, cut short by the start of another frame, or the database failed: send it again).
    """
    ctx = click.get_current_context()
    given = ctx.get_parameter_source("listen")
    if file is not None and listen is not None and given is not ParameterSource.ENVIRONMENT:
        raise click.UsageError("give FILE or --listen, not both")
    if file is not None:
        if any(ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE for name in _TLS_PARAMETERS):
            raise click.UsageError("--tls-cert, --tls-key and --tls-client-ca go with --listen, not FILE")
        _import("hl7", file, clinic, phone_region, office_id, database_url)
    elif listen is not None:
        tls = _tls_context(tls_cert, tls_key, tls_client_ca)
        sessions = _sessions(database_url)
        listener = mllp.Listener(
            sessions, phone_region=phone_region, default_clinic=clinic, office_id=_office(sessions, office_id)
        )
        asyncio.run(_listen(listener, *listen, tls))
    else:
        raise click.UsageError("Missing argument 'FILE' (or --listen [HOST:]PORT).")


async def _listen(listener: mllp.Listener, host: str, port: int, tls: ssl.SSLContext | None) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, listener.stop)  # answer the message in hand, then close
    try:
        await listener.start(host, port, tls)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    await listener.wait_closed()


@import_group.command("fhir")
@import_file_argument
@import_clinic_option
@import_region_option
@office_option
@database_option
def import_fhir(
    file: BinaryIO, clinic: str | None, phone_region: str, office_id: int | None, database_url: str | None
) -> None:
    """Import a FHIR R4 Bundle (JSON) of Appointments and their Patients from FILE or - .

    \b
    Appointment: id, status (booked/pending, cancelled, noshow), start, minutesDuration or end, participants:
    Patient (in the bundle or Patient/id), Location (clinic, by name), Practitioner (provider, by name).
    Patient: id, name, birthDate, telecom (phone; use mobile, home or work), communication language.
    """
    _import("fhir", file, clinic, phone_region, office_id, database_url)
