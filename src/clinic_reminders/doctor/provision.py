"""`reminders setup twilio` and the guided set-up page: the seed's week of checklist, through Twilio's API.

Every step first reads what Twilio and the office row already hold and changes only what is wrong, saving as it
goes, so running it again changes nothing and a run cut short resumes where it stopped. A number is bought only
when the account owns none: never a second one. Secrets (auth token, API key secret) go to the office row
encrypted and are never returned or printed; the API key's secret exists nowhere else, as Twilio shows it once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..accounts import the_office
from ..crypto import DecryptionError, SecretBox
from ..db import transaction
from ..effective import TwilioConfig, twilio_config
from ..gateways import AvailableNumber, IncomingNumber, TwilioError, TwilioGateway
from ..models import Clinic, Office
from ..phones import InvalidPhoneNumber, to_e164
from ..registration import rows
from ..settings import Settings
from .messaging_service import messaging_service
from .steps import Step, refused_credentials, twilio_failed
from .twilio import CONFIRM_PATH, same_url

KEY_NAME = "clinic-reminders"
ALREADY_VERIFIED = 21450
Chooser = Callable[[Sequence[AvailableNumber]], str | None]


# What each step asks Twilio, for the failure message when Twilio does not answer.
DOING = {
    "number": "find or buy the number",
    "webhooks": "set the number's webhook URLs",
    "messaging_service": "set up the Messaging Service",
    "caller_ids": "verify the clinic phones as caller IDs",
    "api_key": "create the API key",
}


class Provisioner:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        gateway: TwilioGateway,
        *,
        auth_token: str | None = None,
        office_id: int | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.gateway = gateway
        self.auth_token = auth_token  # to save with the account SID; the gateway already uses it
        self.office_id = office_id
        self.box = SecretBox(settings.secret_key_value)

    @contextmanager
    def _office(self) -> Iterator[tuple[Session, Office]]:
        with transaction(self.sessions) as db:
            office = db.get(Office, self.office_id) if self.office_id is not None else None
            yield db, office or the_office(db)

    def config(self) -> TwilioConfig:
        with self._office() as (_db, office):
            return twilio_config(self.settings, office)

    def _owned(self) -> list[IncomingNumber]:
        return self.gateway.list_incoming_numbers(limit=1000)

    # --- steps ------------------------------------------------------------------------------------------------

    def credentials(self) -> Step:
        """Check the SID and token with Twilio, then keep them in the office row (the token encrypted)."""
        try:
            account = self.gateway.fetch_account()
        except TwilioError as exc:
            if refused_credentials(exc):
                return Step("credentials", "failed", f"Twilio refused the Account SID and Auth Token ({exc.reason})")
            return twilio_failed("credentials", exc, "check the Account SID and Auth Token with Twilio")
        changed = False
        with self._office() as (_db, office):
            if office.twilio_account_sid != self.gateway.account_sid:
                office.twilio_account_sid = self.gateway.account_sid
                changed = True
            stored = office.twilio_auth_token_encrypted
            if self.auth_token and (not stored or self._decrypt(stored) != self.auth_token):
                office.twilio_auth_token_encrypted = self.box.encrypt(self.auth_token)
                changed = True
        note = " (a Trial: upgrade it at console.twilio.com before patients get texts)" if account.is_trial else ""
        return Step(
            "credentials",
            "done" if changed else "unchanged",
            f"account {account.sid} ({account.type}){note}",
            {"account_sid": account.sid, "type": account.type, "status": account.status},
        )

    def _decrypt(self, token: str) -> str | None:
        try:
            return self.box.decrypt(token)
        except DecryptionError:
            return None

    def search(
        self, *, area_code: int | None = None, city: str | None = None, limit: int = 10
    ) -> list[AvailableNumber]:
        """Local numbers that can text, by area code or city (US)."""
        found = self.gateway.search_available_numbers(area_code=area_code, in_locality=city, limit=limit)
        return [n for n in found if n.sms_capable]

    def number(
        self,
        *,
        choice: str | None = None,
        area_code: int | None = None,
        city: str | None = None,
        choose: Chooser | None = None,
    ) -> Step:
        """The configured number if the account owns it, else a number the account owns, else buy one."""
        owned = self._owned()
        by_phone = {n.phone_number: n for n in owned}
        config = self.config()
        configured = _e164(config.phone_number) if config.phone_number else None
        if configured in by_phone:
            return Step("number", "unchanged", f"{configured} is configured and owned", {"phone_number": configured})
        if self.settings.twilio_phone_number:
            return Step(
                "number",
                "failed",
                f"TWILIO_PHONE_NUMBER in the environment ({configured}) is not a number of this account; the "
                "environment wins over the set-up, so fix or remove it",
            )
        wanted = _e164(choice) if choice else None
        adopt = by_phone.get(wanted or "") or next((n for n in owned if n.sms_capable), None)
        if adopt is not None:
            self._save_number(adopt.phone_number)
            return Step(
                "number",
                "done",
                f"uses {adopt.phone_number}, which the account already owns (nothing bought)",
                {"phone_number": adopt.phone_number, "bought": False},
            )
        if owned:
            return Step("number", "failed", "the account owns numbers, none with SMS: release one or buy by hand")
        if wanted is None:
            candidates = self.search(area_code=area_code, city=city)
            if not candidates:
                where = f"area code {area_code}" if area_code else (city or "the US")
                return Step("number", "failed", f"Twilio offers no SMS number in {where}: try another area code")
            wanted = choose(candidates) if choose is not None else candidates[0].phone_number
            if wanted is None:
                return Step("number", "action_needed", "choose a number to buy", {"candidates": listed(candidates)})
        public = config.public_url
        confirm = f"{public}{CONFIRM_PATH}" if public else None
        try:
            bought = self.gateway.buy_number(
                wanted,
                friendly_name="clinic-reminders",
                sms_url=confirm,
                sms_method="GET" if confirm else None,
                voice_url=confirm,
                voice_method="POST" if confirm else None,
            )
        except TwilioError as exc:
            if exc.is_transient:
                raise  # reported with its code and the hint to run again
            return Step("number", "failed", f"Twilio did not sell {wanted}: {exc.reason}")
        self._save_number(bought.phone_number)
        return Step(
            "number", "done", f"bought {bought.phone_number}", {"phone_number": bought.phone_number, "bought": True}
        )

    def _save_number(self, phone: str) -> None:
        with self._office() as (_db, office):
            office.twilio_phone_number = phone

    def webhooks(self) -> Step:
        """SMS URL <public>/app_confirm with GET, voice URL <public>/app_confirm."""
        config = self.config()
        if not config.public_url:
            return Step("webhooks", "failed", "no public URL yet: set REMINDERS_PUBLIC_URL (https://host:8080) first")
        number = next((n for n in self._owned() if n.phone_number == _e164(config.phone_number or "")), None)
        if number is None:
            return Step("webhooks", "failed", "no number of this account is configured yet")
        url = f"{config.public_url}{CONFIRM_PATH}"
        sms_ok = same_url(number.sms_url, url) and (number.sms_method or "").upper() == "GET"
        voice_ok = same_url(number.voice_url, url)
        if sms_ok and voice_ok:
            return Step("webhooks", "unchanged", f"SMS GET and voice {url}", {"url": url})
        self.gateway.update_number_webhooks(
            number.sid,
            sms_url=None if sms_ok else url,
            sms_method=None if sms_ok else "GET",
            voice_url=None if voice_ok else url,
            voice_method=None if voice_ok else "POST",
        )
        return Step("webhooks", "done", f"set SMS (GET) and voice URLs of {number.phone_number} to {url}", {"url": url})

    def caller_ids(self) -> Step:
        """Start verification for every active clinic phone that is not yet a caller ID of the account."""
        with self._office() as (db, office):
            clinics = [
                (c.name, _e164(c.phone))
                for c in db.scalars(select(Clinic).where(Clinic.office_id == office.id, Clinic.active.is_(True)))
            ]
        if not clinics:
            return Step("caller_ids", "unchanged", "no active clinic yet")
        usable = {c.phone_number for c in self.gateway.list_caller_ids(limit=1000)}
        usable |= {n.phone_number for n in self._owned()}
        started: list[dict[str, str]] = []
        for name, phone in clinics:
            if phone in usable or any(s["phone_number"] == phone for s in started):
                continue
            try:
                request = self.gateway.start_caller_id_verification(phone, friendly_name=name)
            except TwilioError as exc:
                if exc.code == ALREADY_VERIFIED:
                    continue
                if exc.is_transient:
                    raise
                return Step("caller_ids", "failed", f"Twilio could not call {name}'s phone: {exc.reason}")
            started.append({"clinic": name, "phone_number": phone, "validation_code": request.validation_code})
        if not started:
            return Step("caller_ids", "unchanged", f"all {len(clinics)} clinic phone(s) are verified caller IDs")
        return Step(
            "caller_ids",
            "action_needed",
            "Twilio is calling: type the code shown on the phone's keypad when it asks",
            {"verifications": started},
        )

    def api_key(self) -> Step:
        """Keep a working API key; otherwise create one and store its secret encrypted (shown by Twilio once)."""
        config = self.config()
        if config.api_key and config.api_secret and self._key_works(config.api_key, config.api_secret):
            return Step("api_key", "unchanged", f"key {config.api_key} works", {"api_key": config.api_key})
        if self.settings.twilio_api_key:
            return Step("api_key", "failed", "TWILIO_API_KEY in the environment does not work: fix or remove it")
        key = self.gateway.create_api_key(KEY_NAME)
        with self._office() as (_db, office):
            office.twilio_api_key = key.sid
            office.twilio_api_secret_encrypted = self.box.encrypt(key.secret)
        return Step("api_key", "done", f"created key {key.sid}; its secret is stored encrypted", {"api_key": key.sid})

    def messaging_service(self) -> Step:
        return messaging_service(self)

    def numbers_added_to_service(self, numbers: Sequence[str]) -> None:
        """Numbers now in the service's pool (its campaign) are no longer held for an earlier carrier refusal."""
        with self._office() as (db, office):
            rows.lift_blocks(db, office.id, numbers)

    def _key_works(self, key_sid: str, secret: str) -> bool:
        probe = self.gateway.with_api_key(key_sid, secret)
        try:
            probe.list_incoming_numbers(limit=1)  # standard keys may not read /Accounts itself
        except TwilioError as exc:
            if exc.is_transient:
                raise
            return False
        return True

    def run(
        self,
        *,
        choice: str | None = None,
        area_code: int | None = None,
        city: str | None = None,
        choose: Chooser | None = None,
    ) -> list[Step]:
        """Every step in order; stops where a later step cannot work without this one. A step Twilio failed is
        reported with Twilio's code (and whether trying again helps); the next run continues from there."""
        steps = [self.credentials()]
        if steps[-1].status == "failed":
            return steps
        steps.append(
            self._step("number", lambda: self.number(choice=choice, area_code=area_code, city=city, choose=choose))
        )
        if steps[-1].status in ("done", "unchanged"):
            steps.append(self._step("webhooks", self.webhooks))
            steps.append(self._step("messaging_service", self.messaging_service))
        steps.append(self._step("caller_ids", self.caller_ids))
        steps.append(self._step("api_key", self.api_key))
        return steps

    def _step(self, step_id: str, run: Callable[[], Step]) -> Step:
        try:
            return run()
        except TwilioError as exc:
            return twilio_failed(step_id, exc, DOING[step_id])


def _e164(phone: str | None) -> str:
    try:
        return to_e164(phone or "")
    except InvalidPhoneNumber:
        return phone or ""


def listed(numbers: Sequence[AvailableNumber]) -> list[dict[str, Any]]:
    return [
        {"phone_number": n.phone_number, "locality": n.locality, "region": n.region, "voice": n.voice_capable}
        for n in numbers
    ]
