"""Twilio's 2010-04-01 REST API, the subset the service uses: messages, calls, account, balance, numbers,
caller IDs, API keys. Validation and error codes follow Twilio's, including the test magic numbers."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING

from .config import NumberConfig
from .magic import (
    CALL_TO_ERRORS,
    MAGIC_FROM_OK,
    MESSAGE_FROM_ERRORS,
    MESSAGE_TO_ERRORS,
    NO_NUMBERS_AREA_CODE,
    UNAVAILABLE_TO_BUY,
)
from .rest import E164, ApiError, RestRequest, Result, Route, page_2010, route
from .senders import service_sender
from .shapes import (
    account_json,
    available_number_json,
    balance_json,
    call_json,
    caller_id_json,
    message_json,
    new_key_json,
    number_json,
)
from .state import Call, Key, Message, make_number, new_sid, now

if TYPE_CHECKING:
    from .core import Simulator

ROUTES: list[Route] = []
ACCOUNT = r"/2010-04-01/Accounts/(?P<account>AC[0-9a-fA-F]{32})"
SID = r"[0-9a-fA-F]{32}"
TRIAL_PREFIX = "Sent from your Twilio trial account - "
VERIFICATION_CALLER = "+14157234000"


@route(ROUTES, "GET", ACCOUNT + r"\.json")
def fetch_account(sim: Simulator, req: RestRequest) -> Result:
    return 200, account_json(req.account)


@route(ROUTES, "GET", ACCOUNT + r"/Balance\.json")
def fetch_balance(sim: Simulator, req: RestRequest) -> Result:
    return 200, balance_json(req.account)


# --- messages -------------------------------------------------------------------------------------------------


@route(ROUTES, "POST", ACCOUNT + r"/Messages\.json")
def create_message(sim: Simulator, req: RestRequest) -> Result:
    account = req.account
    to, from_, body = req.arg("To"), req.arg("From"), req.arg("Body") or ""
    service_sid = req.arg("MessagingServiceSid")
    if not to:
        raise ApiError(21604)
    if not from_ and not service_sid:
        raise ApiError(21603)
    if not body and not req.args("MediaUrl") and not req.arg("ContentSid"):
        raise ApiError(21602)
    if len(body) > 1600:
        raise ApiError(21617)
    if to in MESSAGE_TO_ERRORS:
        raise ApiError(MESSAGE_TO_ERRORS[to], value=to)
    if not E164.match(to):
        raise ApiError(21211, value=to)
    service = None
    if service_sid:  # the sender comes from the service's pool (see senders.py)
        service, from_ = service_sender(sim.registry.of(account.sid), account, service_sid, to, from_)
    assert from_ is not None
    if from_ in MESSAGE_FROM_ERRORS:
        raise ApiError(MESSAGE_FROM_ERRORS[from_], value=from_)
    if from_ != MAGIC_FROM_OK:
        number = account.number(from_)
        if number is None or not number.sms:
            raise ApiError(21606, value=from_)
    if (to, from_) in account.opted_out:
        raise ApiError(21610)
    if account.trial and not account.is_verified(to):
        raise ApiError(21608, value=to)
    validity = req.int_arg("ValidityPeriod", 0) or (service.validity_period if service else None)
    message = sim.record_outbound(
        account,
        to=to,
        from_=from_,
        body=TRIAL_PREFIX + body if account.trial else body,
        status_callback=req.arg("StatusCallback") or (service.status_callback if service else None),
        validity_period=validity,
        messaging_service_sid=service.sid if service else None,
    )
    return 201, message_json(message)


@route(ROUTES, "GET", ACCOUNT + r"/Messages\.json")
def list_messages(sim: Simulator, req: RestRequest) -> Result:
    to, from_ = req.arg("To"), req.arg("From")
    on = _moment(req.arg("DateSent"), end=False)
    after = _moment(req.arg("DateSent>"), end=False)
    before = _moment(req.arg("DateSent<"), end=True)
    on_day = on.date() if on else None

    def keep(m: Message) -> bool:
        if m.account_sid != req.account.sid or to not in (None, m.to) or from_ not in (None, m.from_):
            return False
        sent = m.date_sent  # None while queued: Twilio's DateSent filters leave such a message out
        if sent is None:
            return on_day is None and after is None and before is None
        return (
            (on_day is None or sent.date() == on_day)
            and (after is None or sent >= after)
            and (before is None or sent <= before)
        )

    found = [m for m in reversed(sim.store.messages.values()) if keep(m)]
    return page_2010(req, "messages", found, message_json)


@route(ROUTES, "GET", ACCOUNT + rf"/Messages/(?P<sid>SM{SID})\.json")
def fetch_message(sim: Simulator, req: RestRequest) -> Result:
    message = sim.store.messages.get(req.match["sid"])
    if message is None or message.account_sid != req.account.sid:
        raise ApiError(20404, path=req.path)
    return 200, message_json(message)


def _moment(value: str | None, *, end: bool) -> datetime | None:
    """Twilio date filters take `YYYY-MM-DD` (a whole day, inclusive) or an ISO 8601 timestamp."""
    if not value:
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time.max if end else time.min, UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(20001, value="a date filter") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- calls ----------------------------------------------------------------------------------------------------


@route(ROUTES, "POST", ACCOUNT + r"/Calls\.json")
def create_call(sim: Simulator, req: RestRequest) -> Result:
    account = req.account
    to, from_ = req.arg("To"), req.arg("From")
    url, document = req.arg("Url"), req.arg("Twiml")
    if not to:
        raise ApiError(21201)
    if not from_:
        raise ApiError(21213)
    if not url and not document and not req.arg("ApplicationSid"):
        raise ApiError(21205)
    if to in CALL_TO_ERRORS:
        raise ApiError(CALL_TO_ERRORS[to], value=to)
    if not E164.match(to):
        raise ApiError(21217, value=to)
    if from_ != MAGIC_FROM_OK and account.number(from_) is None and not account.is_verified(from_):
        raise ApiError(21210, value=from_)
    if account.trial and not account.is_verified(to):
        raise ApiError(21219, value=to)
    events = {e for value in req.args("StatusCallbackEvent") for e in value.split()} or {"completed"}
    moment = now()
    call = Call(
        sid=new_sid("CA"),
        account_sid=account.sid,
        to=to,
        from_=from_,
        direction="outbound-api",
        status="queued",
        date_created=moment,
        date_updated=moment,
        url=url,
        method=(req.arg("Method") or "POST").upper(),
        twiml=document,
        status_callback=req.arg("StatusCallback"),
        status_callback_method=(req.arg("StatusCallbackMethod") or "POST").upper(),
        status_callback_events=frozenset(events),
        machine_detection=req.arg("MachineDetection"),
        ring_timeout=req.int_arg("Timeout", 60),
    )
    sim.calls.start(call)
    return 201, call_json(call)


@route(ROUTES, "GET", ACCOUNT + r"/Calls\.json")
def list_calls(sim: Simulator, req: RestRequest) -> Result:
    to, from_, status = req.arg("To"), req.arg("From"), req.arg("Status")
    after = _moment(req.arg("StartTime>"), end=False)
    before = _moment(req.arg("StartTime<"), end=True)

    def keep(c: Call) -> bool:
        started = c.start_time or c.date_created
        return (
            c.account_sid == req.account.sid
            and (to is None or c.to == to)
            and (from_ is None or c.from_ == from_)
            and (status is None or c.status == status)
            and (after is None or started >= after)
            and (before is None or started <= before)
        )

    found = [c for c in reversed(sim.store.calls.values()) if keep(c)]
    return page_2010(req, "calls", found, call_json)


@route(ROUTES, "GET", ACCOUNT + rf"/Calls/(?P<sid>CA{SID})\.json")
def fetch_call(sim: Simulator, req: RestRequest) -> Result:
    call = sim.store.calls.get(req.match["sid"])
    if call is None or call.account_sid != req.account.sid:
        raise ApiError(20404, path=req.path)
    return 200, call_json(call)


# --- numbers, caller IDs, keys --------------------------------------------------------------------------------


@route(ROUTES, "GET", ACCOUNT + r"/IncomingPhoneNumbers\.json")
def list_numbers(sim: Simulator, req: RestRequest) -> Result:
    phone, name = req.arg("PhoneNumber"), req.arg("FriendlyName")
    found = [
        n
        for n in req.account.numbers.values()
        if (phone is None or n.phone_number == phone) and (name is None or n.friendly_name == name)
    ]
    return page_2010(req, "incoming_phone_numbers", found, number_json)


@route(ROUTES, "POST", ACCOUNT + r"/IncomingPhoneNumbers\.json")
def buy_number(sim: Simulator, req: RestRequest) -> Result:
    account = req.account
    phone, area_code = req.arg("PhoneNumber"), req.arg("AreaCode")
    if phone:
        if phone in UNAVAILABLE_TO_BUY or sim.store.number_anywhere(phone) is not None or not E164.match(phone):
            raise ApiError(21422, value=phone)
    elif area_code:
        phone = next((p for p in _candidates(area_code) if sim.store.number_anywhere(p) is None), None)
        if phone is None:
            raise ApiError(21422, value=area_code)
    else:
        raise ApiError(21451)
    config = NumberConfig(
        phone,
        sms_url=req.arg("SmsUrl"),
        sms_method=req.arg("SmsMethod") or "POST",
        voice_url=req.arg("VoiceUrl"),
        voice_method=req.arg("VoiceMethod") or "POST",
        friendly_name=req.arg("FriendlyName"),
        registered=False,  # bought here: carriers filter its texts until it is registered here
    )
    number = make_number(account.sid, config)
    account.numbers[number.sid] = number
    return 201, number_json(number)


@route(ROUTES, "GET", ACCOUNT + rf"/IncomingPhoneNumbers/(?P<sid>PN{SID})\.json")
def fetch_number(sim: Simulator, req: RestRequest) -> Result:
    number = req.account.numbers.get(req.match["sid"])
    if number is None:
        raise ApiError(20404, path=req.path)
    return 200, number_json(number)


@route(ROUTES, "POST", ACCOUNT + rf"/IncomingPhoneNumbers/(?P<sid>PN{SID})\.json")
def update_number(sim: Simulator, req: RestRequest) -> Result:
    number = req.account.numbers.get(req.match["sid"])
    if number is None:
        raise ApiError(20404, path=req.path)
    for param, attribute in (("SmsUrl", "sms_url"), ("VoiceUrl", "voice_url"), ("FriendlyName", "friendly_name")):
        value = req.arg(param)
        if value is not None:
            setattr(number, attribute, value or None)
    for param, attribute in (("SmsMethod", "sms_method"), ("VoiceMethod", "voice_method")):
        value = req.arg(param)
        if value is not None:
            if value.upper() not in ("GET", "POST"):
                raise ApiError(20001, value=param)
            setattr(number, attribute, value.upper())
    number.date_updated = now()
    return 200, number_json(number)


@route(ROUTES, "GET", ACCOUNT + r"/AvailablePhoneNumbers/(?P<country>[A-Z]{2})/Local\.json")
def search_numbers(sim: Simulator, req: RestRequest) -> Result:
    area_code = req.arg("AreaCode") or "415"
    locality = req.arg("InLocality") or "San Francisco"
    region = req.arg("InRegion") or "CA"
    if req.match["country"] != "US" or area_code == NO_NUMBERS_AREA_CODE or not area_code.isdigit():
        found: list[str] = []
    else:
        found = [p for p in _candidates(area_code) if sim.store.number_anywhere(p) is None]
    return page_2010(
        req, "available_phone_numbers", found, lambda p: available_number_json(p, locality, region, "94105")
    )


def _candidates(area_code: str) -> list[str]:
    """Fictional 555-01xx numbers in the area code."""
    return [f"+1{area_code}55501{i:02d}" for i in range(20)]


@route(ROUTES, "GET", ACCOUNT + r"/OutgoingCallerIds\.json")
def list_caller_ids(sim: Simulator, req: RestRequest) -> Result:
    phone = req.arg("PhoneNumber")
    found = [c for c in req.account.caller_ids.values() if phone is None or c.phone_number == phone]
    return page_2010(req, "outgoing_caller_ids", found, caller_id_json)


@route(ROUTES, "POST", ACCOUNT + r"/OutgoingCallerIds\.json")
def start_verification(sim: Simulator, req: RestRequest) -> Result:
    """Twilio calls the number; the person types the code shown to whoever asked (phone page / digits API)."""
    account = req.account
    phone = req.arg("PhoneNumber")
    if not phone:
        raise ApiError(21604)
    if not E164.match(phone):
        raise ApiError(21211, value=phone)
    if account.is_verified(phone):
        raise ApiError(21450, value=phone)
    code = f"{secrets.randbelow(1_000_000):06d}"
    moment = now()
    call = Call(
        sid=new_sid("CA"),
        account_sid=account.sid,
        to=phone,
        from_=VERIFICATION_CALLER,
        direction="outbound-api",
        status="queued",
        date_created=moment,
        date_updated=moment,
        validation_code=code,
    )
    sim.calls.start(call)
    return 200, {
        "account_sid": account.sid,
        "call_sid": call.sid,
        "friendly_name": req.arg("FriendlyName") or phone,
        "phone_number": phone,
        "validation_code": code,
    }


@route(ROUTES, "POST", ACCOUNT + r"/Keys\.json")
def create_key(sim: Simulator, req: RestRequest) -> Result:
    key = Key(new_sid("SK"), req.arg("FriendlyName") or "", secrets.token_hex(16))
    req.account.keys[key.sid] = key
    sim.store.forget_credentials()
    return 201, new_key_json(key)
