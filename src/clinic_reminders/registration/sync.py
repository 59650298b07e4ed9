"""Registration status followed, not guessed: `refresh` reads each of an office's registrations from Twilio and
records what it says (rows.record), submits the campaign by itself once the brand turns APPROVED (the fees were
confirmed when the brand was registered), and lifts carrier blocks once the sender's registration is approved
again. It returns the changes, so that the caller (the running service's watch) can alert admins and release held
texts.

Each registration is read and saved on its own: one that Twilio fails to answer keeps its last known state and
does not stop the others.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..db import transaction
from ..effective import twilio_config
from ..gateways import BundleKind, TwilioError, TwilioGateway
from ..models import BusinessProfile, Office, Registration, RegistrationKind, RegistrationState
from ..settings import Settings
from . import campaign, problems, rows
from .senders import SenderKind, sender_kind

log = logging.getLogger(__name__)
K = RegistrationKind
BUNDLES = {K.CUSTOMER_PROFILE: BundleKind.CUSTOMER_PROFILE, K.TRUST_PRODUCT: BundleKind.TRUST_PRODUCT}


def _read(gateway: TwilioGateway, row: Registration, service_sid: str | None) -> tuple[str, list[problems.Problem]]:
    """Twilio's status word for the row's resource, and its problems."""
    api = gateway.registration
    assert row.twilio_sid is not None
    if row.kind in BUNDLES:
        bundle = api.fetch_bundle(BUNDLES[RegistrationKind(row.kind)], row.twilio_sid)
        return bundle.status, problems.from_errors(bundle.errors)
    if row.kind == K.BRAND:
        brand = api.fetch_brand(row.twilio_sid)
        found = problems.from_errors(brand.errors)
        if not found and brand.status == "FAILED":
            found = problems.from_failure(brand.failure_reason)
        return brand.status, found
    if row.kind == K.CAMPAIGN:
        on_service = (row.parts or {}).get("messaging_service") or service_sid or ""
        found_campaign = api.fetch_campaign(on_service, row.twilio_sid)
        return found_campaign.status, problems.from_errors(found_campaign.errors)
    verification = api.fetch_tollfree_verification(row.twilio_sid)
    found = problems.from_errors(verification.rejection_reasons)
    return verification.status, found or problems.from_failure(verification.rejection_reason, verification.error_code)


def _approved_since(rows_by_kind: dict[tuple[str, str], Registration], block: Registration) -> bool:
    """Is the blocked sender's registration approved after carriers refused it?"""
    if sender_kind(block.subject) is SenderKind.TOLL_FREE:
        needed = [rows_by_kind.get((K.TOLLFREE, block.subject))]
    else:
        needed = [rows_by_kind.get((K.BRAND, "")), rows_by_kind.get((K.CAMPAIGN, ""))]
    return all(
        r is not None and r.state == RegistrationState.APPROVED and r.state_changed_at >= block.state_changed_at
        for r in needed
    )


def refresh(
    settings: Settings,
    sessions: sessionmaker[Session],
    gateway: TwilioGateway,
    office_id: int,
    *,
    now: datetime | None = None,
) -> list[rows.Change]:
    now = now or datetime.now(UTC)
    changes: list[rows.Change] = []
    with transaction(sessions) as db:
        office = db.get(Office, office_id)
        service_sid = twilio_config(settings, office).messaging_service_sid if office else None
        ids = [r.id for r in rows.of_office(db, office_id) if r.twilio_sid and r.kind != K.CARRIER_BLOCK]
    for row_id in ids:
        with transaction(sessions) as db:
            row = db.get(Registration, row_id)
            assert row is not None
            try:
                status, found = _read(gateway, row, service_sid)
            except TwilioError as exc:
                log.info("registration refresh: %s %s not read: %s", row.kind, row.twilio_sid, exc)
                continue
            change = rows.record(row, status, found, now=now)
            if change is not None:
                changes.append(change)
    changes += _submit_campaign(settings, sessions, gateway, office_id, service_sid)
    with transaction(sessions) as db:
        known = {(r.kind, r.subject): r for r in rows.of_office(db, office_id)}
        lifted = [b.subject for (kind, _s), b in known.items() if kind == K.CARRIER_BLOCK and _approved_since(known, b)]
        changes += rows.lift_blocks(db, office_id, lifted, now)
    return changes


def _submit_campaign(
    settings: Settings,
    sessions: sessionmaker[Session],
    gateway: TwilioGateway,
    office_id: int,
    service_sid: str | None,
) -> list[rows.Change]:
    """The campaign, once the brand is APPROVED and none was submitted yet."""
    with transaction(sessions) as db:
        brand = rows.find(db, office_id, K.BRAND)
        submitted = rows.find(db, office_id, K.CAMPAIGN)
        office = db.get(Office, office_id)
        profile = db.scalar(select(BusinessProfile).where(BusinessProfile.office_id == office_id))
        ready = brand is not None and brand.state == RegistrationState.APPROVED and brand.twilio_sid
        if not ready or (submitted and submitted.twilio_sid) or not service_sid or office is None or profile is None:
            return []
        assert brand is not None and brand.twilio_sid is not None
        try:
            change = campaign.submit(
                db, settings, gateway, office, profile, service_sid=service_sid, brand_sid=brand.twilio_sid
            )
        except TwilioError as exc:
            log.info("registration refresh: the campaign could not be submitted: %s", exc)
            return []
    return [change] if change is not None else []
