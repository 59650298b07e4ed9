"""Checks of US carrier registration, from Twilio's truth: the office's Messaging Service, the A2P 10DLC brand and
campaign (when a sender is a US local number) and each toll-free number's verification (when one is toll-free).

Each says Twilio's status, the rejection with its error code, the field at fault and its fix, and how many texts
are waiting meanwhile. An office registered in Twilio's console shows green too: what Twilio lists is adopted into
the office's Registration rows.
"""

from __future__ import annotations

from sqlalchemy import func, select

from ..db import transaction
from ..gateways import Brand, IncomingNumber, TwilioError
from ..gateways.errors import UNREGISTERED_10DLC, UNVERIFIED_TOLL_FREE
from ..models import Clinic, Registration, RegistrationKind, RegistrationState, Reminder, ReminderStatus
from ..registration import problems, rows
from ..registration.senders import WAITING_FOR_REGISTRATION, SenderKind, sender_kind
from ..registration.states import state_of
from .checks import CheckList, Outcome, failed, not_applicable, ok, warning
from .context import DoctorContext
from .messaging_service import SERVICE_NAME, office_senders, wrong_settings
from .twilio import CREDENTIALS, SETUP

checks = CheckList()

SERVICE = "twilio.messaging_service"
BRAND = "twilio.a2p.brand"
CAMPAIGN = "twilio.a2p.campaign"
TOLLFREE = "twilio.tollfree.verification"
REGISTER = "fill in the business profile (configuration page), then run `reminders setup twilio --register`"
K = RegistrationKind


def _senders(ctx: DoctorContext) -> list[str]:
    if "senders" not in ctx.cache:
        clinic_numbers: list[str | None] = []
        if ctx.sessions is not None and ctx.office.id is not None:
            with ctx.sessions() as db:
                clinic_numbers = list(
                    db.scalars(
                        select(Clinic.twilio_number).where(Clinic.office_id == ctx.office.id, Clinic.active.is_(True))
                    )
                )
        ctx.cache["senders"] = office_senders(ctx.office, clinic_numbers, ctx.twilio.phone_number)
    senders: list[str] = ctx.cache["senders"]
    return senders


def _of_kind(ctx: DoctorContext, kind: SenderKind) -> list[str]:
    return [n for n in _senders(ctx) if sender_kind(n) is kind]


def _waiting(ctx: DoctorContext) -> str:
    if ctx.sessions is None or ctx.office.id is None:
        return ""
    with ctx.sessions() as db:
        count = db.scalar(
            select(func.count(Reminder.id)).where(
                Reminder.office_id == ctx.office.id,
                Reminder.status == ReminderStatus.PLANNED,
                Reminder.reason.startswith(WAITING_FOR_REGISTRATION),
            )
        )
    return f"; {count} text(s) waiting (calls go out meanwhile)" if count else ""


def _adopt(
    ctx: DoctorContext, kind: RegistrationKind, sid: str, status: str, found: list[problems.Problem], subject: str = ""
) -> None:
    """Adopt a resource made in Twilio's console into a row of the office. A row we already follow is left to the
    running service's watch (doctor/registration_watch.py), which alerts admins and releases held texts when its
    state changes: recording the change here would hide it from the watch."""
    if ctx.sessions is None or ctx.office.id is None:
        return
    with transaction(ctx.sessions) as db:
        row = rows.get_or_create(db, ctx.office.id, kind, subject)
        if row.twilio_sid is None:
            rows.record(row, status, found, sid=sid, submitted=True, now=ctx.now)


def _row(ctx: DoctorContext, kind: RegistrationKind, subject: str = "") -> Registration | None:
    if ctx.sessions is None or ctx.office.id is None:
        return None
    with ctx.sessions() as db:
        return rows.find(db, ctx.office.id, kind, subject)


def _judged(what: str, status: str, kind: RegistrationKind, found: list[problems.Problem], waiting: str) -> Outcome:
    state = state_of(kind, status)
    if state is RegistrationState.APPROVED:
        return ok(f"{what} {status}")
    if state is RegistrationState.FAILED:
        fixes = "; ".join(dict.fromkeys(problems.fix(p) for p in found)) or REGISTER
        return failed(f"{what} {status}: {problems.summary(found) or 'Twilio gave no reason'}{waiting}", fixes)
    return warning(
        f"{what} {status or 'not submitted'}: carriers review it (days, sometimes weeks){waiting}",
        "nothing to do but wait: the service follows the review and sends the waiting texts once approved",
    )


@checks.add(SERVICE, "Messaging Service holds the office's numbers", depends_on=(CREDENTIALS, "settings.public_url"))
def messaging_service(ctx: DoctorContext) -> Outcome:
    api = ctx.gateway().registration
    stored = ctx.twilio.messaging_service_sid
    try:
        service = api.fetch_service(stored) if stored else None
    except TwilioError as exc:
        if exc.code != 20404:
            raise
        return failed(f"the stored Messaging Service {stored} does not exist at Twilio", f"{SETUP} to create one")
    if service is None:
        service = next((s for s in api.list_services() if s.friendly_name == SERVICE_NAME), None)
    if service is None:
        return warning(
            "no Messaging Service: texts go out from the number directly, but US carriers take texts from a local "
            "number only under an A2P 10DLC campaign, and a campaign lives on a Messaging Service",
            f"{SETUP}: it creates the service with the office's numbers",
        )
    ctx.cache["service_sid"] = service.sid
    wrong = wrong_settings(service, ctx.public_url or "")
    pool = {s.phone_number for s in api.list_service_senders(service.sid)}
    owned: list[IncomingNumber] = ctx.cache.get("numbers") or ctx.gateway().list_incoming_numbers(limit=1000)
    missing = [n for n in _senders(ctx) if n not in pool and n in {o.phone_number for o in owned}]
    if missing:
        wrong.append("it lacks the sender(s) " + ", ".join(missing))
    if wrong:
        return failed(f"Messaging Service {service.sid}: " + "; ".join(wrong), f"{SETUP}: it puts them right")
    return ok(f"{service.sid} sends from {', '.join(sorted(pool)) or 'no number yet'}")


@checks.add(BRAND, "A2P 10DLC brand approved", depends_on=(CREDENTIALS,))
def brand(ctx: DoctorContext) -> Outcome:
    local = _of_kind(ctx, SenderKind.LOCAL)
    if not local:
        return not_applicable("no US local number sends texts: no A2P 10DLC brand needed")
    api = ctx.gateway().registration
    row = _row(ctx, K.BRAND)
    found_brand: Brand | None
    if row is not None and row.twilio_sid:
        found_brand = api.fetch_brand(row.twilio_sid)
    else:
        listed = api.list_brands()
        found_brand = next((b for b in listed if b.status == "APPROVED"), listed[0] if listed else None)
    if found_brand is None:
        return failed(
            f"no A2P 10DLC brand: carriers block texts from {', '.join(local)} "
            f"(Twilio error {UNREGISTERED_10DLC}){_waiting(ctx)}",
            REGISTER,
        )
    found = problems.from_errors(found_brand.errors)
    if not found and found_brand.status == "FAILED":
        found = problems.from_failure(found_brand.failure_reason)
    _adopt(ctx, K.BRAND, found_brand.sid, found_brand.status, found)
    ctx.cache["brand"] = found_brand
    return _judged(f"brand {found_brand.sid}", found_brand.status, K.BRAND, found, _waiting(ctx))


@checks.add(CAMPAIGN, "A2P 10DLC campaign verified", depends_on=(BRAND, SERVICE))
def campaign(ctx: DoctorContext) -> Outcome:
    found_brand = ctx.cache.get("brand")
    service_sid = ctx.cache.get("service_sid")
    if found_brand is None or service_sid is None:
        return not_applicable("no brand or no Messaging Service to check a campaign on")
    api = ctx.gateway().registration
    listed = [c for c in api.list_campaigns(service_sid) if c.brand_registration_sid == found_brand.sid]
    if not listed:
        if found_brand.status == "APPROVED":
            return failed(
                f"brand {found_brand.sid} is approved but {service_sid} has no campaign{_waiting(ctx)}",
                "run `reminders setup twilio --register`: it registers the campaign",
            )
        return warning(
            f"no campaign yet: it is registered once brand {found_brand.sid} is approved{_waiting(ctx)}",
            "nothing to do: the service registers it by itself once the brand is approved",
        )
    found_campaign = listed[0]
    found = problems.from_errors(found_campaign.errors)
    _adopt(ctx, K.CAMPAIGN, found_campaign.sid, found_campaign.status, found)
    return _judged(f"campaign {found_campaign.sid}", found_campaign.status, K.CAMPAIGN, found, _waiting(ctx))


@checks.add(TOLLFREE, "Toll-free numbers verified", depends_on=(CREDENTIALS,))
def tollfree(ctx: DoctorContext) -> Outcome:
    numbers = _of_kind(ctx, SenderKind.TOLL_FREE)
    if not numbers:
        return not_applicable("no toll-free number sends texts: no verification needed")
    api = ctx.gateway().registration
    owned = {n.phone_number: n.sid for n in ctx.gateway().list_incoming_numbers(limit=1000)}
    outcomes = []
    for number in numbers:
        listed = api.list_tollfree_verifications(phone_number_sid=owned.get(number)) if number in owned else []
        if not listed:
            outcomes.append(
                failed(
                    f"{number} is not verified: carriers block its texts (Twilio error {UNVERIFIED_TOLL_FREE})",
                    REGISTER,
                )
            )
            continue
        verification = listed[0]
        found = problems.from_errors(verification.rejection_reasons) or problems.from_failure(
            verification.rejection_reason, verification.error_code
        )
        _adopt(ctx, K.TOLLFREE, verification.sid, verification.status, found, subject=number)
        outcomes.append(_judged(f"{number}: verification", verification.status, K.TOLLFREE, found, ""))
    worst = next((o for o in outcomes if o.status.value == "failed"), None) or next(
        (o for o in outcomes if o.status.value == "warning"), outcomes[0]
    )
    explanation = "; ".join(o.explanation for o in outcomes) + _waiting(ctx)
    return Outcome(worst.status, explanation, worst.fix)
