"""The running service follows the office's carrier registrations (doctor/alerts.py's watch calls it each look).

`follow` reads every registration from Twilio (registration/sync.py: it also submits the campaign once the brand
is approved and lifts carrier blocks), releases the texts held for registration when something was approved, and
says in words what admins must hear: an approval, or a rejection with what Twilio found wrong and what to do.
`waiting_banner` tells staff how many texts wait, and why.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from ..db import transaction
from ..gateways import TwilioError
from ..models import RegistrationKind, RegistrationState
from ..phones import display
from ..registration import holds, sync
from ..registration.rows import Change
from ..registration.senders import WAITING_FOR_REGISTRATION
from .checks import Banner
from .context import DoctorContext

log = logging.getLogger(__name__)

WHAT = {
    RegistrationKind.CUSTOMER_PROFILE: "The Trust Hub business profile",
    RegistrationKind.TRUST_PRODUCT: "The A2P messaging profile",
    RegistrationKind.BRAND: "The A2P 10DLC brand",
    RegistrationKind.CAMPAIGN: "The A2P 10DLC campaign",
    RegistrationKind.TOLLFREE: "The toll-free verification of {number}",
}
FIX = (
    "Correct it on the configuration's carrier registration page, then run `reminders setup twilio --register` "
    "again (the same registration is resubmitted)."
)


def _verdict(change: Change, released: int) -> str | None:
    """What admins hear of one change; None for steps on the way (submitted, in review)."""
    if change.kind == RegistrationKind.CARRIER_BLOCK:
        if change.new_state != RegistrationState.APPROVED:
            return None
        return f"Carriers take texts from {display(change.subject)} again."
    what = WHAT[RegistrationKind(change.kind)].format(number=display(change.subject) if change.subject else "")
    if change.new_state == RegistrationState.APPROVED:
        after = f" {released} waiting text(s) go out now." if released else ""
        return f"{what} was approved.{after}"
    if change.new_state == RegistrationState.FAILED:
        found = "; ".join(
            " ".join(
                part
                for part in (
                    f"Twilio error {p['code']}:" if p.get("code") else "",
                    str(p.get("description") or ""),
                    f"(field: {p['field']})" if p.get("field") else "",
                )
                if part
            )
            for p in change.problems
        )
        return f"{what} was rejected{': ' + found if found else ''}. {FIX}"
    return None


def follow(ctx: DoctorContext) -> list[str]:
    """Refresh the registrations; release held texts after an approval; the verdicts for admins."""
    config = ctx.twilio
    office_id = ctx.office.id
    if ctx.sessions is None or office_id is None or not config.account_sid or not config.auth_token:
        return []
    try:
        changes = sync.refresh(ctx.settings, ctx.sessions, ctx.gateway(), office_id, now=ctx.now)
    except (TwilioError, SQLAlchemyError) as exc:
        log.info("registration watch: %s", type(exc).__name__)
        return []
    released = 0
    if any(c.new_state == RegistrationState.APPROVED for c in changes):
        with transaction(ctx.sessions) as db:
            released = holds.release_waiting(db, office_id, ctx.now)
        log.info("carrier registration approved: %d held text(s) released", released)
    verdicts = [v for v in (_verdict(c, released) for c in changes) if v]
    for verdict in verdicts:
        log.info("carrier registration: %s", verdict)  # office data only: no patient is named
    return verdicts


def waiting_banner(ctx: DoctorContext) -> Banner | None:
    """Texts held for carrier registration: how many, and why (the commonest reason)."""
    if ctx.sessions is None or ctx.office.id is None:
        return None
    try:
        with ctx.sessions() as db:
            reasons = holds.waiting(db, ctx.office.id)
    except SQLAlchemyError as exc:
        log.info("registration watch: %s", type(exc).__name__)
        return None
    if not reasons:
        return None
    count = sum(reasons.values())
    why = reasons.most_common(1)[0][0].removeprefix(WAITING_FOR_REGISTRATION).lstrip(": ")
    return Banner(
        "registration.waiting",
        "warning",
        f"{count} reminder text(s) wait for carrier registration ({why}); calls still go out. "
        "The configuration's carrier registration page says what is missing.",
    )
