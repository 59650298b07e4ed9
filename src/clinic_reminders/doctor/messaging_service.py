"""The office's Messaging Service: the pool of its senders that its A2P 10DLC campaign is registered on.

`reminders setup twilio` creates it, or adopts the one it made before (by the stored SID, else by its friendly
name): never a second. Its inbound request URL is <public>/app_confirm with HTTP GET, as the seed configures the
number's, its status callback <public>/twilio/status, sticky sender on (a patient keeps hearing from one number);
the office's number and the clinics' own Twilio numbers are its senders. The doctor checks the same (SERVICE_*).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..effective import twilio_config
from ..gateways import IncomingNumber, MessagingService, TwilioError
from ..models import Clinic, Office
from ..phones import InvalidPhoneNumber, to_e164
from ..settings import Settings
from .steps import Step
from .twilio import CONFIRM_PATH, same_url

if TYPE_CHECKING:
    from .provision import Provisioner

SERVICE_NAME = "clinic-reminders"
STATUS_PATH = "/twilio/status"
NOT_FOUND = 20404


def office_senders(office: Office, clinic_numbers: Iterable[str | None], configured: str | None) -> list[str]:
    """The numbers the office texts from (E.164): its number, then the clinics' own, without repeats."""
    found: list[str] = []
    for number in (configured, *clinic_numbers):
        try:
            e164 = to_e164(number or "")
        except InvalidPhoneNumber:
            continue
        if e164 not in found:
            found.append(e164)
    return found


def sending_numbers(db: Session, settings: Settings, office: Office) -> list[str]:
    """`office_senders` for the configuration in force and the office's active clinics."""
    clinic_numbers = db.scalars(
        select(Clinic.twilio_number).where(Clinic.office_id == office.id, Clinic.active.is_(True))
    )
    return office_senders(office, clinic_numbers, twilio_config(settings, office).phone_number)


def wrong_settings(service: MessagingService, public_url: str) -> list[str]:
    """What of the service differs from what the office needs (empty: all right)."""
    wrong = []
    if not same_url(service.inbound_request_url, public_url + CONFIRM_PATH):
        wrong.append(f"its incoming-message URL is {service.inbound_request_url or 'not set'}")
    elif (service.inbound_method or "POST").upper() != "GET":
        wrong.append(f"its incoming-message URL uses HTTP {service.inbound_method}, not GET")
    if not same_url(service.status_callback, public_url + STATUS_PATH):
        wrong.append(f"its status callback is {service.status_callback or 'not set'}")
    if not service.sticky_sender:
        wrong.append("sticky sender is off")
    return wrong


def _find(p: Provisioner, stored: str | None) -> MessagingService | None:
    api = p.gateway.registration
    if stored:
        try:
            return api.fetch_service(stored)
        except TwilioError as exc:
            if exc.code != NOT_FOUND or p.settings.twilio_messaging_service_sid:
                raise
    return next((s for s in api.list_services() if s.friendly_name == SERVICE_NAME), None)


def messaging_service(p: Provisioner) -> Step:
    """Create or adopt the service, put its URLs right, add the office's numbers as senders, store its SID."""
    config = p.config()
    public = config.public_url
    if not public:
        return Step("messaging_service", "failed", "no public URL yet: set REMINDERS_PUBLIC_URL first")
    with p._office() as (db, office):
        clinic_numbers = list(
            db.scalars(select(Clinic.twilio_number).where(Clinic.office_id == office.id, Clinic.active.is_(True)))
        )
    owned: dict[str, IncomingNumber] = {n.phone_number: n for n in p._owned()}
    senders = [n for n in office_senders(office, clinic_numbers, config.phone_number) if n in owned]
    api = p.gateway.registration
    changes: list[str] = []
    service = _find(p, config.messaging_service_sid)
    if service is None:
        service = api.create_service(
            SERVICE_NAME,
            inbound_request_url=public + CONFIRM_PATH,
            inbound_method="GET",
            status_callback=public + STATUS_PATH,
            sticky_sender=True,
        )
        changes.append(f"created Messaging Service {service.sid}")
    elif wrong := wrong_settings(service, public):
        service = api.update_service(
            service.sid,
            inbound_request_url=public + CONFIRM_PATH,
            inbound_method="GET",
            status_callback=public + STATUS_PATH,
            sticky_sender=True,
        )
        changes.append("corrected it (" + "; ".join(wrong) + ")")
    if config.messaging_service_sid != service.sid:
        if p.settings.twilio_messaging_service_sid:
            return Step(
                "messaging_service",
                "failed",
                f"TWILIO_MESSAGING_SERVICE_SID in the environment is not {service.sid}: fix or remove it",
            )
        with p._office() as (_db, office):
            office.twilio_messaging_service_sid = service.sid
    in_pool = {s.phone_number for s in api.list_service_senders(service.sid)}
    added = [number for number in senders if number not in in_pool]
    for number in added:
        api.add_service_sender(service.sid, owned[number].sid)
    if added:
        changes.append("added " + ", ".join(added) + " as senders")
        p.numbers_added_to_service(added)
    data = {"messaging_service_sid": service.sid, "senders": senders}
    if not changes:
        return Step("messaging_service", "unchanged", f"{service.sid} sends from {', '.join(senders)}", data)
    return Step("messaging_service", "done", f"{service.sid}: " + "; ".join(changes), data)
