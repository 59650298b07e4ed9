"""The office and its configuration: the seed's configuration screen is one row of this table."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, Numeric, String, Text, Time
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, Timestamps, UTCDateTime


class Office(Timestamps, Base):
    __tablename__ = "offices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # An office the operator added (`reminders office add`): its Twilio account is its row's alone, never the
    # deployment's TWILIO_* environment, which belongs to the office a single-office deployment has.
    hosted: Mapped[bool] = mapped_column(Boolean, server_default=sa_false())  # no Python default: older inserts
    # Set by the operator: its staff cannot sign in, its webhooks are refused, its reminders are not dispatched.
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The seed's "External IP" (a domain or an address), "HTTP type" and port: together the public URL.
    public_host: Mapped[str | None] = mapped_column(String(255))
    http_type: Mapped[str] = mapped_column(String(5), default="https")
    public_port: Mapped[int] = mapped_column(Integer, default=8080)

    twilio_account_sid: Mapped[str | None] = mapped_column(String(64))
    twilio_phone_number: Mapped[str | None] = mapped_column(String(20))
    twilio_api_key: Mapped[str | None] = mapped_column(String(64))
    # The office's Messaging Service (MG...): its pool of senders, which an A2P 10DLC campaign is attached to.
    twilio_messaging_service_sid: Mapped[str | None] = mapped_column(String(34))
    # Fernet tokens (see crypto.py); never the plain secret.
    twilio_auth_token_encrypted: Mapped[str | None] = mapped_column(Text)
    twilio_api_secret_encrypted: Mapped[str | None] = mapped_column(Text)

    # Who hears of a low balance or an expiring certificate (doctor/alerts.py); REMINDERS_ALERT_* win over them.
    alert_email: Mapped[str | None] = mapped_column(Text)  # up to 5 addresses, ", "-separated
    alert_sms: Mapped[str | None] = mapped_column(String(20))
    smtp_url_encrypted: Mapped[str | None] = mapped_column(Text)  # a Fernet token: the URL holds a password

    # Compliance defaults: TCPA window and the FCC healthcare exemption's frequency limits.
    quiet_hours_start: Mapped[time] = mapped_column(Time, default=time(8, 0))
    quiet_hours_end: Mapped[time] = mapped_column(Time, default=time(21, 0))
    max_reminders_per_day: Mapped[int] = mapped_column(Integer, default=1)
    max_reminders_per_week: Mapped[int] = mapped_column(Integer, default=3)
    include_visit_reason: Mapped[bool] = mapped_column(Boolean, default=False)
    # The office's own SMS templates by language ("en", "es"); a language without one uses the default.
    sms_templates: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    sms_price_per_segment: Mapped[Decimal] = mapped_column(Numeric(10, 5), default=Decimal("0.0083"))
    low_balance_threshold: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("20.00"))

    @property
    def suspended(self) -> bool:
        return self.suspended_at is not None

    @property
    def public_url(self) -> str | None:
        if not self.public_host:
            return None
        default_port = 443 if self.http_type == "https" else 80
        port = "" if self.public_port == default_port else f":{self.public_port}"
        return f"{self.http_type}://{self.public_host}{port}"


class WorkerHeartbeat(Base):
    """Each dispatcher process writes its row every few seconds; the set-up doctor reads them.

    `seen_at` is the last beat of a dispatcher that works. While its database work fails, it writes (when it can)
    `failing_since`, and `failed_at` and `failure` (exception type and a short reason, never patient data) of the
    latest failure; its next good beat clears `failing_since` and leaves the other two as the last failure."""

    __tablename__ = "worker_heartbeats"

    worker_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failure: Mapped[str | None] = mapped_column(String(200))


class OfficeMark(Base):
    """What one process noted of an office that every replica must know: when each admin alert last went out
    (`alert:<banner>`, so that several web replicas alert once between them) and the set-up doctor's last signed
    test webhook (`doctor-ping`, whichever replica took it). `detail` is a short word, never patient data."""

    __tablename__ = "office_marks"

    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    detail: Mapped[str | None] = mapped_column(String(40))
