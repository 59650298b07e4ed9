"""The running service's watch: the Twilio balance and the certificate's expiry, looked at periodically.

Staff pages show `current_banners(app)`; admins get one email (REMINDERS_SMTP_URL to REMINDERS_ALERT_EMAIL)
and/or one SMS (to REMINDERS_ALERT_SMS, from the office's number) when a condition appears, then again at most
daily while it lasts. The watch runs in a thread: the Twilio SDK's set-up calls are synchronous, and the demo
serves the simulator from the same event loop, which such a call must never block.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy.orm import Session, sessionmaker

from ..gateways import TwilioError
from ..settings import Settings
from .certs import EXPIRY_WARNING, fetch_chain, load_pem_chain
from .context import DoctorContext

log = logging.getLogger(__name__)

INTERVAL = 900.0  # seconds between looks
FIRST_LOOK = 60.0  # after start-up, so a restart loop does not hammer Twilio
REPEAT_ALERT = timedelta(hours=24)


@dataclass(frozen=True)
class Banner:
    id: str  # balance.low, balance.empty, certificate.expiring, certificate.expired
    level: str  # warning | danger
    text: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "level": self.level, "text": self.text}


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


def evaluate(ctx: DoctorContext) -> list[Banner]:
    return [b for b in (balance_banner(ctx), certificate_banner(ctx)) if b is not None]


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
    if not config.phone_number:
        raise RuntimeError("no Twilio number to send the alert from")
    gateway = ctx.gateway()

    async def send() -> None:
        try:
            await gateway.send_sms(to, config.phone_number or "", body)
        finally:
            await gateway.aclose()

    asyncio.run(send())


class Watch:
    """Looks every `interval` seconds; remembers which alerts went out and when."""

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
        self.banners: list[Banner] = []
        self.alerted: dict[str, datetime] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def look(self) -> list[Banner]:
        """One look: refresh the banners and alert admins of conditions not alerted in the last day."""
        ctx = DoctorContext(self.settings, self.sessions, now=self.clock(), probe_timeout=5.0)
        self.banners = evaluate(ctx)
        fresh = [
            b for b in self.banners if ctx.now - self.alerted.get(b.id, datetime.min.replace(tzinfo=UTC)) > REPEAT_ALERT
        ]
        if fresh and self.notify(ctx, fresh):
            for banner in fresh:
                self.alerted[banner.id] = ctx.now
        return self.banners

    def notify(self, ctx: DoctorContext, banners: list[Banner]) -> bool:
        """Email and/or SMS the admins; True when at least one channel took it."""
        text = "\n".join(b.text for b in banners)
        sent = False
        settings = self.settings
        if settings.smtp_url and settings.alert_email:
            try:
                send_email(
                    settings.smtp_url.get_secret_value(),
                    settings.alert_email,
                    "clinic-reminders: " + banners[0].text[:60],
                    text,
                )
                sent = True
            except (OSError, smtplib.SMTPException) as exc:
                log.warning("admin alert email failed: %s", type(exc).__name__)
        if settings.alert_sms:
            try:
                send_sms(ctx, settings.alert_sms, "clinic-reminders: " + text)
                sent = True
            except (TwilioError, RuntimeError, OSError) as exc:
                log.warning("admin alert SMS failed: %s", type(exc).__name__)
        return sent

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


def current_banners(app: Any) -> list[Banner]:
    """What staff pages show at the top: `current_banners(request.app)`."""
    watch: Watch | None = getattr(app.state, "watch", None)
    return list(watch.banners) if watch is not None else []


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
