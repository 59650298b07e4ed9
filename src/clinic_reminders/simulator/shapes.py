"""Records as Twilio's JSON: field names, RFC 2822 dates (2010 API) or ISO 8601 (v1 APIs), relative `uri`s.

The shapes follow Twilio's OpenAPI spec; tests/integration/test_conformance.py validates them against it.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime
from typing import Any

from .state import Account, AlertRecord, Call, CallerIdRecord, Key, Message, Number, Room

API = "/2010-04-01"


def rfc2822(moment: datetime | None) -> str | None:
    return None if moment is None else format_datetime(moment)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def account_json(a: Account) -> dict[str, Any]:
    base = f"{API}/Accounts/{a.sid}"
    resources = ("Addresses", "Applications", "AvailablePhoneNumbers", "Calls", "IncomingPhoneNumbers", "Keys")
    subresources = {name.lower(): f"{base}/{name}.json" for name in resources}
    subresources.update(
        messages=f"{base}/Messages.json",
        outgoing_caller_ids=f"{base}/OutgoingCallerIds.json",
        balance=f"{base}/Balance.json",
    )
    return {
        "auth_token": a.auth_token,
        "date_created": rfc2822(a.date_created),
        "date_updated": rfc2822(a.date_created),
        "friendly_name": a.friendly_name,
        "owner_account_sid": a.sid,
        "sid": a.sid,
        "status": a.status,
        "subresource_uris": subresources,
        "type": a.type,
        "uri": f"{base}.json",
    }


def balance_json(a: Account) -> dict[str, Any]:
    return {"account_sid": a.sid, "balance": a.balance, "currency": a.currency}


def message_json(m: Message) -> dict[str, Any]:
    uri = f"{API}/Accounts/{m.account_sid}/Messages/{m.sid}"
    return {
        "account_sid": m.account_sid,
        "api_version": "2010-04-01",
        "body": m.body,
        "date_created": rfc2822(m.date_created),
        "date_sent": rfc2822(m.date_sent),
        "date_updated": rfc2822(m.date_updated),
        "direction": m.direction,
        "error_code": m.error_code,
        "error_message": m.error_message,
        "from": m.from_,
        "messaging_service_sid": m.messaging_service_sid,
        "num_media": str(m.num_media),
        "num_segments": str(m.num_segments),
        "price": None,
        "price_unit": "USD",
        "sid": m.sid,
        "status": m.status,
        "subresource_uris": {"media": f"{uri}/Media.json"},
        "to": m.to,
        "uri": f"{uri}.json",
    }


def call_json(c: Call) -> dict[str, Any]:
    uri = f"{API}/Accounts/{c.account_sid}/Calls/{c.sid}"
    names = ("notifications", "recordings", "payments", "events", "siprec", "streams", "transcriptions")
    subresources = {name: f"{uri}/{name.capitalize()}.json" for name in names}
    return {
        "sid": c.sid,
        "date_created": rfc2822(c.date_created),
        "date_updated": rfc2822(c.date_updated),
        "parent_call_sid": None,
        "account_sid": c.account_sid,
        "to": c.to,
        "to_formatted": c.to,
        "from": c.from_,
        "from_formatted": c.from_,
        "phone_number_sid": None,
        "status": c.status,
        "start_time": rfc2822(c.start_time),
        "end_time": rfc2822(c.end_time),
        "duration": None if c.duration is None else str(c.duration),
        "price": None,
        "price_unit": "USD",
        "direction": c.direction,
        "answered_by": c.answered_by,
        "api_version": "2010-04-01",
        "forwarded_from": None,
        "group_sid": None,
        "caller_name": None,
        "queue_time": "0",
        "trunk_sid": None,
        "uri": f"{uri}.json",
        "subresource_uris": subresources,
    }


def number_json(n: Number) -> dict[str, Any]:
    return {
        "account_sid": n.account_sid,
        "address_sid": None,
        "address_requirements": "none",
        "api_version": "2010-04-01",
        "beta": False,
        "capabilities": {"voice": n.voice, "sms": n.sms, "mms": n.sms, "fax": False},
        "date_created": rfc2822(n.date_created),
        "date_updated": rfc2822(n.date_updated),
        "friendly_name": n.friendly_name,
        "identity_sid": None,
        "phone_number": n.phone_number,
        "origin": "twilio",
        "sid": n.sid,
        "sms_application_sid": None,
        "sms_fallback_method": "POST",
        "sms_fallback_url": None,
        "sms_method": n.sms_method,
        "sms_url": n.sms_url,
        "status_callback": None,
        "status_callback_method": "POST",
        "trunk_sid": None,
        "uri": f"{API}/Accounts/{n.account_sid}/IncomingPhoneNumbers/{n.sid}.json",
        "voice_receive_mode": "voice",
        "voice_application_sid": None,
        "voice_caller_id_lookup": False,
        "voice_fallback_method": "POST",
        "voice_fallback_url": None,
        "voice_method": n.voice_method,
        "voice_url": n.voice_url,
        "emergency_status": "Inactive",
        "emergency_address_sid": None,
        "emergency_address_status": "unregistered",
        "bundle_sid": None,
        "status": "in-use",
        "type": "local",
    }


def available_number_json(phone_number: str, locality: str, region: str, postal_code: str) -> dict[str, Any]:
    return {
        "friendly_name": phone_number,
        "phone_number": phone_number,
        "lata": "722",
        "locality": locality,
        "rate_center": locality.upper()[:10],
        "latitude": 37.7749,
        "longitude": -122.4194,
        "region": region,
        "postal_code": postal_code,
        "iso_country": "US",
        "address_requirements": "none",
        "beta": False,
        "capabilities": {"voice": True, "SMS": True, "MMS": True},
    }


def caller_id_json(c: CallerIdRecord) -> dict[str, Any]:
    return {
        "sid": c.sid,
        "date_created": rfc2822(c.date_created),
        "date_updated": rfc2822(c.date_created),
        "friendly_name": c.friendly_name,
        "account_sid": c.account_sid,
        "phone_number": c.phone_number,
        "uri": f"{API}/Accounts/{c.account_sid}/OutgoingCallerIds/{c.sid}.json",
    }


def new_key_json(k: Key) -> dict[str, Any]:
    return {
        "sid": k.sid,
        "friendly_name": k.friendly_name,
        "date_created": rfc2822(k.date_created),
        "date_updated": rfc2822(k.date_created),
        "secret": k.secret,
    }


def room_json(r: Room, base_url: str) -> dict[str, Any]:
    url = f"{base_url}/v1/Rooms/{r.sid}"
    duration = None if r.end_time is None else int((r.end_time - r.date_created).total_seconds())
    return {
        "sid": r.sid,
        "status": r.status,
        "date_created": iso(r.date_created),
        "date_updated": iso(r.date_updated),
        "account_sid": r.account_sid,
        "enable_turn": True,
        "unique_name": r.unique_name,
        "status_callback": r.status_callback,
        "status_callback_method": r.status_callback_method,
        "end_time": iso(r.end_time),
        "duration": duration,
        "type": r.type,
        "max_participants": r.max_participants,
        "max_participant_duration": 14400,
        "max_concurrent_published_tracks": 170,
        "record_participants_on_connect": False,
        "video_codecs": ["VP8", "H264"],
        "media_region": "us1",
        "audio_only": False,
        "empty_room_timeout": r.empty_room_timeout,
        "unused_room_timeout": r.unused_room_timeout,
        "large_room": False,
        "url": url,
        "links": {
            "participants": f"{url}/Participants",
            "recordings": f"{url}/Recordings",
            "recording_rules": f"{url}/RecordingRules",
            "transcriptions": f"{url}/Transcriptions",
        },
    }


def alert_json(a: AlertRecord, base_url: str) -> dict[str, Any]:
    return {
        "account_sid": a.account_sid,
        "alert_text": a.alert_text,
        "api_version": "2010-04-01",
        "date_created": iso(a.date_created),
        "date_generated": iso(a.date_created),
        "date_updated": iso(a.date_created),
        "error_code": a.error_code,
        "log_level": a.log_level,
        "more_info": f"https://www.twilio.com/docs/errors/{a.error_code}",
        "request_method": a.request_method,
        "request_url": a.request_url,
        "resource_sid": a.resource_sid,
        "sid": a.sid,
        "url": f"{base_url}/v1/Alerts/{a.sid}",
        "service_sid": None,
    }


def lookup_json(phone_number: str, line_type: str, base_url: str) -> dict[str, Any]:
    valid = phone_number.startswith("+") and phone_number[1:].isdigit() and 8 <= len(phone_number) <= 16
    us = phone_number.startswith("+1") and len(phone_number) == 12
    national = f"({phone_number[2:5]}) {phone_number[5:8]}-{phone_number[8:]}" if us else None
    intelligence = {
        "mobile_country_code": "310",
        "mobile_network_code": "456" if line_type == "mobile" else "",
        "carrier_name": "Simulated Wireless" if line_type == "mobile" else "Simulated Telco",
        "type": line_type,
        "error_code": None,
    }
    return {
        "calling_country_code": "1" if us else None,
        "country_code": "US" if us else None,
        "phone_number": phone_number,
        "national_format": national,
        "valid": valid,
        "validation_errors": [] if valid else ["INVALID_BUT_POSSIBLE"],
        "caller_name": None,
        "sim_swap": None,
        "call_forwarding": None,
        "line_status": None,
        "line_type_intelligence": intelligence if valid else None,
        "identity_match": None,
        "reassigned_number": None,
        "sms_pumping_risk": None,
        "phone_number_quality_score": None,
        "pre_fill": None,
        "url": f"{base_url}/v2/PhoneNumbers/{phone_number}",
    }


def alert_instance_json(a: AlertRecord, base_url: str) -> dict[str, Any]:
    """A single alert carries what Twilio sent and what it got back."""
    return {
        **alert_json(a, base_url),
        "request_variables": a.request_variables,
        "response_body": a.response_body,
        "response_headers": "",
        "request_headers": "",
    }
