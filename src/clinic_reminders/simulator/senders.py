"""Sending through a Messaging Service (which sender of the pool), and what US carriers do with a text from a
sender that is not registered: a local (10DLC) number outside a Messaging Service with a verified A2P campaign
gets 30034, a toll-free number without an approved verification 30032 (blocked while pending too, per
Twilio's 30032 page). Twilio's test numbers reach no carrier and are never filtered, nor are numbers seeded as
registered elsewhere (`NumberConfig.registered`)."""

from __future__ import annotations

from .magic import is_test_number
from .registry import MessagingService, Registry, is_toll_free
from .rest import ApiError
from .state import Account

UNREGISTERED_10DLC = 30034
UNVERIFIED_TOLL_FREE = 30032


def service_sender(
    registry: Registry, account: Account, service_sid: str, to: str, from_: str | None
) -> tuple[MessagingService, str]:
    """The service and the number a message sent with `MessagingServiceSid` goes out from.

    A `From` must be one of the service's senders. Otherwise: the recipient's sticky sender when the service
    keeps one, else the next sender of the pool (in turn), preferring the recipient's area code when the
    service geomatches.
    """
    service = registry.services.get(service_sid)
    if service is None:
        raise ApiError(21705 if not service_sid.startswith("MG") or len(service_sid) != 34 else 21701)
    pool = [account.numbers[sid] for sid in service.senders if sid in account.numbers and account.numbers[sid].sms]
    if from_:
        number = account.number(from_)
        if number is None or number.sid not in service.senders:
            raise ApiError(21711)
        return service, number.phone_number
    if not pool:
        raise ApiError(21704)
    sticky = service.sticky.get(to) if service.sticky_sender else None
    chosen = next((n for n in pool if n.sid == sticky), None)
    if chosen is None:
        local = [n for n in pool if n.phone_number[:5] == to[:5]] if service.area_code_geomatch else []
        candidates = local or pool
        chosen = candidates[service.rotation % len(candidates)]
        service.rotation += 1
    if service.sticky_sender:
        service.sticky[to] = chosen.sid
    return service, chosen.phone_number


def carrier_block(registry: Registry, account: Account, from_: str, to: str) -> int | None:
    """The error code carriers answer a text from `from_` to `to` with, or None if it goes through."""
    if is_test_number(from_) or not (from_.startswith("+1") and to.startswith("+1")):
        return None
    number = account.number(from_)
    if number is None or number.registered:
        return None
    if is_toll_free(from_):
        verification = registry.verification_of(number.sid)
        return None if verification is not None and verification.approved else UNVERIFIED_TOLL_FREE
    service = registry.service_of(number.sid)
    campaign = registry.campaign_of(service.sid) if service is not None else None
    return None if campaign is not None and campaign.approved else UNREGISTERED_10DLC
