"""Checks of the service itself: settings present, database migrated, dispatcher alive."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from ..effective import alert_config
from ..migrations import alembic_config
from ..models import WorkerHeartbeat
from ..settings import MIN_SECRET_KEY_LENGTH, SettingsError
from . import alerts
from .checks import CheckList, Outcome, failed, ok, warning
from .context import DoctorContext

checks = CheckList()

UPGRADE_FIX = "run `reminders db upgrade` (with the same REMINDERS_DATABASE_URL)"
CONFIGURE = "set it in the environment or on the set-up page, or run `reminders setup twilio`"


@checks.add("settings.secret_key", "Secret key set")
def secret_key(ctx: DoctorContext) -> Outcome:
    try:
        ctx.settings.check_secret_key()
    except SettingsError:
        return failed(
            f"REMINDERS_SECRET_KEY is missing, a placeholder or shorter than {MIN_SECRET_KEY_LENGTH} characters",
            "set it to random text: python3 -c 'import secrets; print(secrets.token_urlsafe(48))'",
        )
    if "secrets" in ctx.problems or _secrets_unreadable(ctx):
        return failed(
            "the Twilio secrets stored in the database cannot be decrypted with this secret key",
            "use the secret key they were saved with, or enter the auth token and API secret again",
        )
    return ok("set (demo key)" if ctx.settings.demo else "set")


def _secrets_unreadable(ctx: DoctorContext) -> bool:
    office, config = ctx.office, ctx.twilio
    stored_token = office.twilio_auth_token_encrypted and ctx.settings.twilio_auth_token is None
    stored_secret = office.twilio_api_secret_encrypted and ctx.settings.twilio_api_secret is None
    return bool((stored_token and not config.auth_token) or (stored_secret and not config.api_secret))


@checks.add("database.connect", "Database answers")
def database_connect(ctx: DoctorContext) -> Outcome:
    if ctx.sessions is None:
        return failed("no database to check", "set REMINDERS_DATABASE_URL")
    try:
        with ctx.sessions() as db:
            db.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return failed(
            f"the database does not answer ({type(exc).__name__})",
            "check REMINDERS_DATABASE_URL, that the database server runs and that this user may connect",
        )
    return ok(f"{ctx.sessions.kw['bind'].dialect.name} answers")


@checks.add("database.migrated", "Database migrated to the latest version", depends_on=("database.connect",))
def database_migrated(ctx: DoctorContext) -> Outcome:
    assert ctx.sessions is not None
    engine = ctx.sessions.kw["bind"]
    heads = set(ScriptDirectory.from_config(alembic_config(str(engine.url))).get_heads())
    quiet = logging.getLogger("alembic.runtime.migration")
    level, quiet.level = quiet.level, logging.WARNING  # "Context impl SQLiteImpl." is noise in a report
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    finally:
        quiet.setLevel(level)
    if not current:
        return failed("the database has no schema version (never migrated)", UPGRADE_FIX)
    if current != heads:
        return failed(
            f"the database is at version {', '.join(sorted(current))}, this release needs {', '.join(sorted(heads))}",
            UPGRADE_FIX,
        )
    return ok(f"at the latest version ({', '.join(sorted(heads))})")


@checks.add("settings.public_url", "Public URL configured")
def public_url(ctx: DoctorContext) -> Outcome:
    url = ctx.public_url
    if not url:
        return failed(
            "no public URL: Twilio would not know where to deliver patients' answers",
            "set REMINDERS_PUBLIC_URL=https://clinic.example.com:8080, or the External IP, HTTP type and port "
            "on the set-up page",
        )
    return ok(f"Twilio calls {url}/app_confirm")


@checks.add("settings.twilio_account", "Twilio Account SID and Auth Token configured")
def twilio_account(ctx: DoctorContext) -> Outcome:
    config = ctx.twilio
    if not config.account_sid:
        return failed("no Twilio Account SID", f"TWILIO_ACCOUNT_SID: {CONFIGURE}")
    if not config.account_sid.startswith("AC") or len(config.account_sid) != 34:
        return failed(
            "the Twilio Account SID does not look like one (AC and 32 hex digits)",
            "copy the Account SID from console.twilio.com (Account info), not an API key SID (SK...)",
        )
    if not config.auth_token:
        return failed("no Twilio Auth Token (or it cannot be decrypted)", f"TWILIO_AUTH_TOKEN: {CONFIGURE}")
    return ok(f"account {config.account_sid}")


@checks.add("settings.twilio_number", "Twilio phone number configured")
def twilio_number(ctx: DoctorContext) -> Outcome:
    number = ctx.twilio.phone_number
    if not number:
        return failed(
            "no Twilio phone number to send from",
            "run `reminders setup twilio` to buy one, or set TWILIO_PHONE_NUMBER to one the account owns",
        )
    return ok(f"sending from {number}")


@checks.add("settings.alerts", "Admins alerted about the balance and the certificate")
def alert_recipients(ctx: DoctorContext) -> Outcome:
    config = alert_config(ctx.settings, ctx.office)
    where = f"alerts: {alerts.describe(config)}"
    fix = "on the configuration screen (Alerts), or REMINDERS_ALERT_EMAIL / REMINDERS_ALERT_SMS / REMINDERS_SMTP_URL"
    if not config.email and not config.sms:
        return warning(f"{where}; a low balance or an expiring certificate shows only on the staff pages", fix)
    if not config.sms and not config.smtp_url:
        return warning(where, fix)
    return ok(where)


DATABASE_FIX = (
    "check that the database in REMINDERS_DATABASE_URL runs and answers the dispatcher's host, and that nothing "
    "holds a lock on it for long; the dispatcher goes on by itself once it can"
)
RECENT_FAILURE = timedelta(hours=1)  # a working dispatcher's last failure is worth telling for this long


@checks.add("dispatcher.heartbeat", "Dispatcher running", depends_on=("database.connect",))
def dispatcher_heartbeat(ctx: DoctorContext) -> Outcome:
    """Working, alive but failing (since when, and why), or silent; `health.beat` writes what this reads."""
    assert ctx.sessions is not None
    fix = (
        "start the service with `reminders serve` (its embedded dispatcher) or run `reminders worker`; "
        "check its log if it stops"
    )
    cutoff = ctx.now - heartbeat_limit(ctx.settings.heartbeat_seconds)
    try:
        with ctx.sessions() as db:
            recent = list(
                db.scalars(
                    select(WorkerHeartbeat)
                    .where((WorkerHeartbeat.seen_at >= cutoff) | (WorkerHeartbeat.failed_at >= cutoff))
                    .order_by(WorkerHeartbeat.seen_at.desc())
                )
            )
            last = recent[0] if recent else db.scalar(select(WorkerHeartbeat).order_by(WorkerHeartbeat.seen_at.desc()))
    except SQLAlchemyError:
        return failed("the heartbeat table cannot be read", UPGRADE_FIX)
    working = [b for b in recent if b.failing_since is None and b.seen_at >= cutoff]
    failing = [b for b in recent if b.failing_since is not None and b.failed_at and b.failed_at >= cutoff]
    if failing:
        longest = min(failing, key=lambda b: b.failing_since or ctx.now)
        if not working:
            return failed(f"the dispatcher {_failing(longest, ctx.now)}; reminders are not being sent", DATABASE_FIX)
        return warning(
            f"{len(failing)} of {len(failing) + len(working)} dispatchers {_failing(longest, ctx.now)}; "
            "the others are sending",
            DATABASE_FIX,
        )
    if working:
        beat = working[0]
        seen = f"last heartbeat {_ago(ctx.now - beat.seen_at)} ago"
        if beat.failed_at and beat.failed_at >= ctx.now - RECENT_FAILURE:
            return ok(f"{seen}; it last failed at {_clock(beat.failed_at, ctx.now)}: {beat.failure}")
        return ok(seen)
    if last is None:
        return failed("no dispatcher has ever run against this database: no reminder is being sent", fix)
    seen = f"the dispatcher was last seen {_ago(ctx.now - last.seen_at)} ago"
    if last.failing_since is not None:
        return failed(f"{seen}; it {_failing(last, ctx.now)}; reminders are not being sent", DATABASE_FIX)
    return failed(f"{seen}: reminders are not being sent", fix)


def _failing(beat: WorkerHeartbeat, now: datetime) -> str:
    assert beat.failing_since is not None
    return f"cannot reach the database since {_clock(beat.failing_since, now)}: {beat.failure}"


def _clock(moment: datetime, now: datetime) -> str:
    return f"{moment:%H:%M} UTC" if now - moment < timedelta(hours=20) else f"{moment:%Y-%m-%d %H:%M} UTC"


def heartbeat_limit(heartbeat_seconds: float) -> timedelta:
    """Several missed beats, never less than a minute (a busy worker may be late once)."""
    return timedelta(seconds=max(60.0, 6 * heartbeat_seconds))


def _ago(age: timedelta) -> str:
    seconds = max(0, int(age.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"
