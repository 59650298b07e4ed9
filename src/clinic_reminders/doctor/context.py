"""What the checks look at: settings, the office row and its clinics, the Twilio configuration in force, and
a cache the checks share (the account fetched once, the certificate fetched once, ...).

Everything is loaded lazily and defensively: a database without tables or a secret that no longer decrypts is
reported by its own check, while the others still run on what the environment says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ..crypto import DecryptionError
from ..effective import TwilioConfig, twilio_config
from ..gateways import TwilioGateway
from ..models import Clinic, Office
from ..settings import Settings, SettingsError

DEFAULT_LOW_BALANCE = Decimal("20.00")


@dataclass(frozen=True, slots=True)
class ClinicPhone:
    """A clinic's caller ID (office data, not patient data)."""

    name: str
    phone: str


@dataclass
class DoctorContext:
    settings: Settings
    sessions: sessionmaker[Session] | None = None
    office_id: int | None = None  # None: the deployment's first office
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    probe_timeout: float = 5.0  # TLS handshakes, DNS and simulator calls
    twilio_timeout: float = 15.0
    domain_urls: Mapping[str, str] | None = None  # one URL per Twilio domain (conformance tests against Prism)
    trusted_roots: list[Any] | None = None  # x509 certificates; None: the system's trust store
    cache: dict[str, Any] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)  # what failed while loading, by topic

    # --- database -----------------------------------------------------------------------------------------

    @cached_property
    def office(self) -> Office:
        """The office row, or an unsaved one with defaults when the database cannot give it."""
        if self.sessions is not None:
            try:
                with self.sessions() as db:
                    query = select(Office).order_by(Office.id).limit(1)
                    if self.office_id is not None:
                        query = select(Office).where(Office.id == self.office_id)
                    office = db.scalar(query)
                    if office is not None:
                        self.cache["clinic_phones"] = [
                            ClinicPhone(c.name, c.phone)
                            for c in db.scalars(
                                select(Clinic)
                                .where(Clinic.office_id == office.id, Clinic.active.is_(True))
                                .order_by(Clinic.id)
                            )
                        ]
                        return office
            except SQLAlchemyError as exc:
                self.problems["database"] = type(exc).__name__
        return Office(name="(no office configured)", http_type="https", public_port=8080)

    @property
    def clinic_phones(self) -> list[ClinicPhone]:
        _ = self.office
        return list(self.cache.get("clinic_phones", []))

    @property
    def low_balance_threshold(self) -> Decimal:
        value = self.office.low_balance_threshold
        return Decimal(value) if value is not None else DEFAULT_LOW_BALANCE

    # --- Twilio ---------------------------------------------------------------------------------------------

    @cached_property
    def twilio(self) -> TwilioConfig:
        """The Twilio configuration in force (environment over office row); secrets that cannot be read are None."""
        try:
            return twilio_config(self.settings, self.office)
        except (DecryptionError, SettingsError) as exc:
            self.problems["secrets"] = str(exc)
        return twilio_config(self.settings, self.office, lenient=True)

    @property
    def public_url(self) -> str | None:
        return self.twilio.public_url

    def gateway(self) -> TwilioGateway:
        """The account's gateway (auth token); built once."""
        if "gateway" not in self.cache:
            self.cache["gateway"] = self.twilio.gateway(timeout=self.twilio_timeout, domain_urls=self.domain_urls)
        gateway: TwilioGateway = self.cache["gateway"]
        return gateway

    def key_gateway(self) -> TwilioGateway:
        """A gateway that authenticates with the API key and secret instead of the auth token."""
        config = self.twilio
        return self.gateway().with_api_key(config.api_key or "", config.api_secret or "")
