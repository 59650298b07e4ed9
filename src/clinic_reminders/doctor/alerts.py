"""The running service's watch: the Twilio balance, the certificate's expiry, the set-up errors or carrier
filtering that recent sends met (the doctor's `twilio.delivery_errors`) and paused write-back destinations,
looked at periodically for every office that is not suspended.

Each office's banners are `current_banners(app, office_id)`; its admins get one email (through the SMTP URL to
the alert addresses) and/or one SMS (to the alert number, from the office's number) when a condition appears,
then again at most daily while it lasts, however many replicas watch. Those three come from REMINDERS_SMTP_URL,
REMINDERS_ALERT_EMAIL and REMINDERS_ALERT_SMS, else from the configuration screen (`effective.alert_config`).
The watch runs in a thread: the Twilio SDK's set-up calls are synchronous, and the demo serves the simulator from
the same event loop, which such a call must never block.

Delivery errors are alerted from here, not at the moment the dispatcher or a status callback meets them: this
loop already runs outside any transaction and off the event loop and sends at most one alert a day per
condition, while a misconfigured sender fails hundreds of sends at once (and its alert SMS could fail alike).
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from .. import office_marks, offices
from ..db import transaction
from ..effective import AlertConfig, alert_config
from ..gateways import TwilioError
from ..settings import Settings
from . import deliveries, registration_watch, writeback_watch
from .certs import EXPIRY_WARNING, fetch_chain, load_pem_chain
from .checks import Banner
from .context import DoctorContext

log = logging.getLogger(__name__)

INTERVAL = 900.0  # seconds between looks
FIRST_LOOK = 60.0  # after start-up, so a restart loop does not hammer Twilio
REPEAT_ALERT = timedelta(hours=24)
_ALERTED = "alert:"  # an office mark's name: when the banner of this id was last alerted


def balance_banner(ctx: DoctorContext) -> Banner | None:
    config = ctx.twilio
    if not config.account_sid or not config.auth_token:
        return None
    try:
        balance = ctx.gateway().fetch_balance()
    except TwilioError as exc:
        log.info("balance watch: %s", exc)
        return None
    amount = f"{balance.amount:.2f} {balance.currency}".strip()
    if balance.amount <= 0:
        return Banner("balance.empty", "danger", f"The Twilio balance is {amount}: no reminder is sent. Add funds.")
    if balance.amount < ctx.low_balance_threshold:
        return Banner(
            "balance.low",
            "warning",
            f"The Twilio balance is {amount}, below {ctx.low_balance_threshold:.2f}: add funds before reminders stop.",
        )
    return None


def certificate_banner(ctx: DoctorContext) -> Banner | None:
    """The configured certificate file's expiry, else the certificate served at the public URL."""
    try:
        if ctx.settings.tls_certfile:
            leaf = load_pem_chain(ctx.settings.tls_certfile)[0]
        else:
            parts = urlsplit(ctx.public_url or "")
            if parts.scheme != "https" or not parts.hostname:
                return None
            chain = fetch_chain(parts.hostname, parts.port or 443, ctx.probe_timeout)
            if not chain:
                return None
            leaf = chain[0]
    except (OSError, ValueError, IndexError) as exc:
        log.info("certificate watch: %s", type(exc).__name__)
        return None
    end = leaf.not_valid_after_utc
    if end <= ctx.now:
        return Banner(
            "certificate.expired",
            "danger",
            f"The HTTPS certificate expired on {end:%Y-%m-%d}: Twilio cannot deliver patients' answers. Renew it.",
        )
    if end - ctx.now < EXPIRY_WARNING:
        days = (end - ctx.now).days
        return Banner("certificate.expiring", "warning", f"The HTTPS certificate expires in {days} days: renew it.")
    return None


def delivery_banners(ctx: DoctorContext) -> list[Banner]:
    """Sends that failed for the set-up (danger) or were filtered by carriers (warning): counts per code only."""
    if ctx.sessions is None:
        return []
    try:
        found = deliveries.recent(ctx)
    except SQLAlchemyError as exc:
        log.info("delivery watch: %s", type(exc).__name__)
        return []
    banners = []
    if setup := found.setup:
        banners.append(
            Banner(
                "delivery.setup",
                "danger",
                f"Twilio refused {sum(setup.values())} send(s) in the last 24 h because of the set-up "
                f"({deliveries.describe(setup)}): {deliveries.meanings(setup)}. "
                "`reminders doctor` or the set-up page says how to fix it.",
            )
        )
    if filtered := found.filtered:
        banners.append(
            Banner(
                "delivery.filtered",
                "warning",
                f"Carriers filtered {sum(filtered.values())} text(s) in the last 24 h "
                f"({deliveries.describe(filtered)}): review the reminder wording and the number's registration "
                "(`reminders doctor` says more).",
            )
        )
    return banners


def evaluate(ctx: DoctorContext) -> list[Banner]:
    waiting = registration_watch.waiting_banner(ctx)
    found = [b for b in (balance_banner(ctx), certificate_banner(ctx), waiting) if b is not None]
    return found + delivery_banners(ctx) + writeback_watch.paused_banners(ctx)


# --- admin alerts -----------------------------------------------------------------------------------------------


def send_email(smtp_url: str, to: str, subject: str, body: str, timeout: float = 10.0) -> None:
    """smtp://[user:password@]host[:port][?starttls=1&from=addr], or smtps:// for TLS from the start."""
    parts = urlsplit(smtp_url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    sender = query.get("from") or f"clinic-reminders@{parts.hostname or 'localhost'}"
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message.set_content(body)
    host, context = parts.hostname or "localhost", ssl.create_default_context()
    if parts.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(host, parts.port or 465, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(host, parts.port or 25, timeout=timeout)
    with client:
        if query.get("starttls") in ("1", "true", "yes"):
            client.starttls(context=context)
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(message)


def send_sms(ctx: DoctorContext, to: str, body: str) -> None:
    config = ctx.twilio
    if not config.account_sid or not config.auth_token:
        raise RuntimeError("Twilio is not configured: no Account SID and Auth Token to send with")
    if not config.phone_number:
        raise RuntimeError("no Twilio number to send the alert from")
    gateway = ctx.gateway()

    async def send() -> None:
        try:
            await gateway.send_sms(to, config.phone_number, body, messaging_service_sid=config.messaging_service_sid)
        finally:
            await gateway.aclose()

    asyncio.run(send())


def smtp_server(smtp_url: str) -> str:
    """host:port of an SMTP URL: says where mail goes without its user name or password."""
    parts = urlsplit(smtp_url)
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
    except ValueError:  # a port that is not a number
        port = 25
    return f"{parts.hostname or 'localhost'}:{port}"


# The mail server's own replies may quote the addresses; these say what went wrong without them (first match wins).
EMAIL_ERRORS: tuple[tuple[type[BaseException], str], ...] = (
    (smtplib.SMTPAuthenticationError, "{server} refused the user name or password of the SMTP URL"),
    (smtplib.SMTPRecipientsRefused, "{server} refused the alert email address(es)"),
    (smtplib.SMTPSenderRefused, "{server} refused the sender address (set it with ?from= in the SMTP URL)"),
    (smtplib.SMTPNotSupportedError, "{server} does not offer what the SMTP URL asks for (STARTTLS or a login)"),
    (smtplib.SMTPServerDisconnected, "{server} hung up (check smtp:// or smtps://, ?starttls=1 and the port)"),
    (smtplib.SMTPException, "{server} refused the message"),
    (ssl.SSLError, "no secure connection to {server} (check smtps:// or ?starttls=1, the port, its certificate)"),
    (socket.gaierror, "{server}: no such mail server (the name does not resolve)"),
    (ConnectionRefusedError, "{server} refused the connection (check the host and port)"),
    (TimeoutError, "{server} did not answer in time"),
    (OSError, "{server} could not be reached"),
)
NO_SMTP_URL = "no SMTP URL is set, so there is no mail server to send through"
UNREADABLE_SMTP_URL = "the saved SMTP URL cannot be decrypted with the current secret key: enter it again"
TEST_SUBJECT = "clinic-reminders: test alert"
TEST_TEXT = (
    "A test alert from the configuration screen. Alerts about a low Twilio balance or an expiring HTTPS "
    "certificate come this way."
)


@dataclass(frozen=True)
class Delivery:
    """One channel's outcome: `error` is None when the mail server or Twilio took it, else why not."""

    channel: str  # email | SMS
    to: str
    error: str | None = None


def describe(config: AlertConfig) -> str:
    """Where alerts go, for the log and the configuration screen: the SMTP URL's password never shows."""
    routes = []
    if config.email:
        if config.smtp_url:
            routes.append(f"email to {config.email} through {smtp_server(config.smtp_url)}")
        else:
            problem = UNREADABLE_SMTP_URL if config.smtp_url_unreadable else NO_SMTP_URL
            routes.append(f"no email to {config.email} ({problem})")
    if config.sms:
        routes.append(f"SMS to {config.sms}")
    return "; ".join(routes) or "nowhere: no alert email address or SMS number is set"


def _email(config: AlertConfig, subject: str, text: str) -> str | None:
    if not config.smtp_url:
        return UNREADABLE_SMTP_URL if config.smtp_url_unreadable else NO_SMTP_URL
    try:
        send_email(config.smtp_url, config.email or "", subject, text)
    except (OSError, smtplib.SMTPException) as exc:
        problem = next(message for kind, message in EMAIL_ERRORS if isinstance(exc, kind))
        return problem.format(server=smtp_server(config.smtp_url))
    return None


def _sms(ctx: DoctorContext, to: str, text: str) -> str | None:
    try:
        send_sms(ctx, to, "clinic-reminders: " + text)
    except TwilioError as exc:
        return exc.reason
    except RuntimeError as exc:
        return str(exc)
    except OSError:
        return "Twilio could not be reached"
    return None


def deliver(ctx: DoctorContext, config: AlertConfig, subject: str, text: str) -> list[Delivery]:
    """Sends through every configured channel: one Delivery per channel tried."""
    deliveries = []
    if config.email:
        deliveries.append(Delivery("email", config.email, _email(config, subject, text)))
    if config.sms:
        deliveries.append(Delivery("SMS", config.sms, _sms(ctx, config.sms, text)))
    return deliveries


def send_test_alert(ctx: DoctorContext) -> list[Delivery]:
    """The configuration screen's "Send a test alert": one message through each configured channel."""
    return deliver(ctx, alert_config(ctx.settings, ctx.office), TEST_SUBJECT, TEST_TEXT)


class Watch:
    """Looks at every office that is not suspended every `interval` seconds and keeps each one's banners; the
    alerts it sends are marked in the database (`office_marks`), so that several web replicas, each with its own
    watch, alert once between them."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session] | None,
        *,
        interval: float = INTERVAL,
        first_look: float = FIRST_LOOK,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.interval = interval
        self.first_look = first_look
        self.clock = clock
        self.banners: dict[int, list[Banner]] = {}  # by office id
        self.routes: dict[int, str] = {}  # where each office's alerts went last time (describe())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def look(self) -> list[Banner]:
        """One look at every office; returns their banners, one office's after another."""
        if self.sessions is None:
            return []
        with transaction(self.sessions) as db:
            office_ids = offices.active_office_ids(db)
        found: dict[int, list[Banner]] = {}
        for office_id in office_ids:
            try:
                found[office_id] = self.look_at(office_id)
            except Exception:  # one office's bad look must not hide the others'
                log.warning("the watch of office %s failed once", office_id, exc_info=True)
                found[office_id] = self.banners.get(office_id, [])
        self.banners = found
        return [banner for banners in found.values() for banner in banners]

    def look_at(self, office_id: int) -> list[Banner]:
        """Follow the office's carrier registrations, find its banners and alert its admins of conditions no
        replica alerted in the last day (and of each registration's verdict, once)."""
        assert self.sessions is not None
        ctx = DoctorContext(self.settings, self.sessions, office_id=office_id, now=self.clock(), probe_timeout=5.0)
        config = alert_config(self.settings, ctx.office)
        verdicts = registration_watch.follow(ctx)
        if verdicts:
            deliver(ctx, config, "clinic-reminders: carrier registration", "\n".join(verdicts))
        banners = evaluate(ctx)
        routes = describe(config)
        if routes != self.routes.get(office_id):  # said at the first look, and again whenever an admin changes it
            log.info("office %s: admin alerts go to %s", office_id, routes)
            self.routes[office_id] = routes
        with transaction(self.sessions) as db:
            fresh = [b for b in banners if office_marks.claim(db, office_id, _ALERTED + b.id, ctx.now, REPEAT_ALERT)]
        if fresh and not self.notify(ctx, config, fresh):
            with transaction(self.sessions) as db:  # no channel took it: the next look tries again
                for banner in fresh:
                    office_marks.give_back(db, office_id, _ALERTED + banner.id, ctx.now)
        return banners

    def notify(self, ctx: DoctorContext, config: AlertConfig, banners: list[Banner]) -> bool:
        """Email and/or SMS the admins; True when at least one channel took it."""
        text = "\n".join(b.text for b in banners)
        deliveries = deliver(ctx, config, "clinic-reminders: " + banners[0].text[:60], text)
        for delivery in deliveries:
            if delivery.error:
                log.warning("admin alert %s failed: %s", delivery.channel, delivery.error)
        return any(delivery.error is None for delivery in deliveries)

    def _loop(self) -> None:
        wait = self.first_look
        while not self._stop.wait(wait):
            try:
                self.look()
            except Exception:  # the watch must outlive a bad look
                log.warning("the balance and certificate watch failed once", exc_info=True)
            wait = self.interval

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="reminders-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)


def current_banners(app: Any, office_id: int) -> list[Banner]:
    """The office's banners, as `/api/setup/banners` gives them: `current_banners(request.app, user.office_id)`."""
    watch: Watch | None = getattr(app.state, "watch", None)
    return list(watch.banners.get(office_id, [])) if watch is not None else []


@asynccontextmanager
async def watch_lifespan(app: Any) -> AsyncIterator[None]:
    """Runs the watch beside the web app (merged into the app's lifespan by the router that carries it)."""
    watch = Watch(app.state.settings, getattr(app.state, "sessions", None))
    app.state.watch = watch
    watch.start()
    try:
        yield
    finally:
        watch.stop()
