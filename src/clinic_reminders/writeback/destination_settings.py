"""What a destination of each kind takes: its plain settings (`clean`) and its one secret (`check_secret`).

The stored settings are what the transports read, with defaults filled in:
- webhook: `url` (https://; http:// only to localhost or 127.0.0.1), `event_types` (a list of `models.EventType`
  values, or None for every event). Its signing secret is made here (`new_webhook_secret`), never typed in.
- hl7: `host`, `port`, `tls`, `ca_certificate` (PEM, or None for the system's CAs), `sending_application`,
  `sending_facility`, `receiving_application`, `receiving_facility` (MSH-3 to MSH-6), `opt_out_message`
  ("ADT^A31" or "none"), `ack_timeout` (seconds), `version` (`hl7_out.VERSIONS`), `assigning_authority` (PID-3.4),
  `filler_status` (the PMS's own SCH-25 codes by status, or None). No secret.
- fhir: `base_url`, `auth` ("bearer": the secret is the token; "smart": SMART backend services, the secret is the
  private key PEM, with `client_id`, `token_url`, `key_id`, `alg` "RS384" or "ES384", and `scope`, None for
  `smart_auth.DEFAULT_SCOPE`), `event_types`. The server keeps `subscription_token_sha256` there itself
  (`writeback.fhir_subscription.new_token`): never typed in, kept when the settings change, never shown.

Refusals name the field as `settings.<name>` (or `secret`) and never repeat what was typed.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import secrets
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ..models import DestinationKind, EventType
from ..refusals import Refused
from .hl7_out import DEFAULT_VERSION as DEFAULT_HL7_VERSION
from .hl7_out import FILLER_STATUS
from .hl7_out import VERSIONS as HL7_VERSIONS

EVENT_TYPES: tuple[str, ...] = tuple(t.value for t in EventType)
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
OPT_OUT_MESSAGES = ("ADT^A31", "none")
FHIR_AUTH = ("bearer", "smart")
SMART_ALGORITHMS = ("RS384", "ES384")
SMART_FIELDS = ("client_id", "token_url", "key_id", "alg", "scope")
SUBSCRIPTION_TOKEN = "subscription_token_sha256"  # noqa: S105 (the name of a setting)
SERVER_KEPT = (SUBSCRIPTION_TOKEN,)  # settings the server writes itself
_SCOPE = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$")  # RFC 6749's scope tokens
MAX_URL = 2000
_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_HL7_DELIMITERS = re.compile(r"[|^~\\&\x00-\x1f\x7f]")


def new_webhook_secret() -> str:
    """A Standard Webhooks signing secret: "whsec_" and the base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _text(value: Any, field: str, *, max_length: int = 200, required: bool = True) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Refused(field, "give it as text")
    text = value.strip()
    if required and not text:
        raise Refused(field, "fill this in")
    if len(text) > max_length:
        raise Refused(field, f"use at most {max_length} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise Refused(field, "must not contain control characters or line breaks")
    return text


def _url(value: Any, field: str) -> str:
    url = _text(value, field, max_length=MAX_URL)
    if any(c.isspace() for c in url):
        raise Refused(field, "must not contain spaces")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused(field, "is not a web address such as https://pms.example.com/hooks") from None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host or port == 0:
        raise Refused(field, "is not a web address such as https://pms.example.com/hooks")
    if parts.scheme == "http" and host not in LOCAL_HOSTS:
        raise Refused(field, "must start with https:// (http:// only to localhost or 127.0.0.1)")
    if parts.username is not None or parts.password is not None:
        raise Refused(field, "must not hold a user name or password")
    if parts.fragment:
        raise Refused(field, "must not end in a #fragment")
    return url


def _host(value: Any, field: str) -> str:
    host = _text(value, field, max_length=253).lower()
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    if not all(_LABEL.match(label) for label in host.split(".")):
        raise Refused(field, "give a host name or IP address alone, e.g. interface.pms.example.com (no port)")
    return host


def _whole(value: Any, field: str, low: int, high: int, default: int | None = None) -> int:
    if (value is None or value == "") and default is not None:
        return default
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise Refused(field, f"give a whole number from {low} to {high}")
    if not low <= value <= high:
        raise Refused(field, f"give a whole number from {low} to {high}")
    return value


def _flag(value: Any, field: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise Refused(field, "give true or false")
    return value


def _choice(value: Any, field: str, choices: tuple[str, ...], default: str) -> str:
    if value is None or value == "":
        return default
    if value not in choices:
        raise Refused(field, "choose one of " + ", ".join(f"“{c}”" for c in choices))
    return str(value)


def _event_types(value: Any, field: str) -> list[str] | None:
    """None (or an empty list) means every event; otherwise the chosen ones in the order of `EventType`."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Refused(field, 'give a list of event types, e.g. ["appointment.confirmed"]')
    unknown = [v for v in value if v not in EVENT_TYPES]
    if unknown:
        raise Refused(field, f"{len(unknown)} unknown event type(s); choose among those of GET /api/events")
    chosen = set(value)
    return [t for t in EVENT_TYPES if t in chosen] or None


def _hl7_name(value: Any, field: str, *, required: bool) -> str:
    name = _text(value, field, max_length=180, required=required)
    if _HL7_DELIMITERS.search(name):
        raise Refused(field, "must not contain the HL7 delimiters | ^ ~ \\ &")
    return name


def _ca_certificate(value: Any, field: str) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise Refused(field, "give the CA certificate as PEM text")
    pem = value.strip()
    if "PRIVATE KEY" in pem:
        raise Refused(field, "this is a private key: give the certificate of the CA that signed the server's")
    try:
        x509.load_pem_x509_certificates(pem.encode())
    except ValueError:
        raise Refused(field, "is not a PEM certificate (-----BEGIN CERTIFICATE----- ...)") from None
    return pem + "\n"


def _filler_status(value: Any, field: str) -> dict[str, str] | None:
    """A PMS's own SCH-25 codes for some appointment statuses, e.g. {"confirmed": "Confirmed"}."""
    if value in (None, "", {}):
        return None
    if not isinstance(value, Mapping):
        raise Refused(field, "give a table of appointment status to filler status code")
    table: dict[str, str] = {}
    for status, code in value.items():
        if status not in FILLER_STATUS:
            raise Refused(field, f"the statuses it can name are {', '.join(FILLER_STATUS)}")
        table[str(status)] = _hl7_name(code, field, required=True)
    return table


def _scope(value: Any, field: str) -> str | None:
    scope = _text(value, field, max_length=1000, required=False)
    if scope and not _SCOPE.fullmatch(scope):
        raise Refused(field, "give scopes separated by single spaces, e.g. system/Appointment.read")
    return scope or None


Field = Callable[[Any, str], Any]
_WEBHOOK: dict[str, Field] = {"url": _url, "event_types": _event_types}
_HL7: dict[str, Field] = {
    "host": _host,
    "port": lambda v, f: _whole(v, f, 1, 65535),
    "tls": _flag,
    "ca_certificate": _ca_certificate,
    "sending_application": lambda v, f: _hl7_name(v or "CLINIC-REMINDERS", f, required=True),
    "sending_facility": lambda v, f: _hl7_name(v, f, required=False),
    "receiving_application": lambda v, f: _hl7_name(v, f, required=False),
    "receiving_facility": lambda v, f: _hl7_name(v, f, required=False),
    "opt_out_message": lambda v, f: _choice(v, f, OPT_OUT_MESSAGES, "ADT^A31"),
    "ack_timeout": lambda v, f: _whole(v, f, 1, 300, default=30),
    "version": lambda v, f: _choice(v, f, HL7_VERSIONS, DEFAULT_HL7_VERSION),
    "assigning_authority": lambda v, f: _hl7_name(v, f, required=False),
    "filler_status": _filler_status,
}
_FHIR: dict[str, Field] = {
    "base_url": _url,
    "auth": lambda v, f: _choice(v, f, FHIR_AUTH, "bearer"),
    "event_types": _event_types,
}
_SMART: dict[str, Field] = {
    "client_id": lambda v, f: _text(v, f),
    "token_url": _url,
    "key_id": lambda v, f: _text(v, f),
    "alg": lambda v, f: _choice(v, f, SMART_ALGORITHMS, "RS384"),
    "scope": _scope,
}
FIELDS: dict[str, dict[str, Field]] = {
    DestinationKind.WEBHOOK: _WEBHOOK,
    DestinationKind.HL7: _HL7,
    DestinationKind.FHIR: {**_FHIR, **_SMART},
}
KIND_NAMES = {DestinationKind.WEBHOOK: "webhook", DestinationKind.HL7: "HL7 v2", DestinationKind.FHIR: "FHIR"}


def kind_of(value: Any) -> DestinationKind:
    try:
        return DestinationKind(value)
    except ValueError:
        raise Refused("kind", "choose one of “webhook”, “hl7”, “fhir”") from None


def clean(kind: DestinationKind, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The settings as stored: every field checked, defaults filled in; an unknown field is refused."""
    fields = FIELDS[kind]
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise Refused(f"settings.{unknown[0]}", f"is not a setting of a {KIND_NAMES[kind]} destination")
    if kind is DestinationKind.FHIR and _choice(raw.get("auth"), "settings.auth", FHIR_AUTH, "bearer") == "bearer":
        given = [f for f in SMART_FIELDS if raw.get(f) not in (None, "")]
        if given:
            raise Refused(f"settings.{given[0]}", "belongs to SMART backend services: set auth to “smart”")
        fields = _FHIR
    settings = {name: check(raw.get(name), f"settings.{name}") for name, check in fields.items()}
    if kind is DestinationKind.HL7 and settings["ca_certificate"] and not settings["tls"]:
        raise Refused("settings.ca_certificate", "is used only with TLS: turn TLS on, or leave it empty")
    return settings


def kept(stored: Mapping[str, Any]) -> dict[str, Any]:
    """The settings the server wrote itself (`SERVER_KEPT`), to keep when the others are replaced."""
    return {name: stored[name] for name in SERVER_KEPT if name in stored}


def shown(stored: Mapping[str, Any]) -> dict[str, Any]:
    """The settings as the API shows them: without those the server keeps for itself."""
    return {name: value for name, value in stored.items() if name not in SERVER_KEPT}


def check_secret(kind: DestinationKind, settings: Mapping[str, Any], secret: str | None) -> str | None:
    """The secret as stored (a PEM key ends in a line break); refuses one the destination cannot use, or a missing
    one it needs. A webhook's is generated, an HL7 destination has none: theirs pass as they are."""
    if kind is not DestinationKind.FHIR:
        return secret
    if not secret:
        what = "access token" if settings["auth"] == "bearer" else "private key (PEM)"
        raise Refused("secret", f"give the {what}")
    if settings["auth"] == "bearer":
        if len(secret) > 4000 or any(c.isspace() or ord(c) < 32 for c in secret):
            raise Refused("secret", "an access token is one word of at most 4000 characters, without spaces")
        return secret
    _check_private_key(secret, settings["alg"])
    return secret.strip() + "\n"


def _check_private_key(pem: str, alg: str) -> None:
    try:
        key = serialization.load_pem_private_key(pem.strip().encode(), password=None)
    except TypeError:  # the key is encrypted
        raise Refused("secret", "give the private key without a passphrase (it is stored encrypted)") from None
    except ValueError:
        raise Refused("secret", "is not a PEM private key (-----BEGIN PRIVATE KEY----- ...)") from None
    if alg == "RS384":
        if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 2048:
            raise Refused("secret", "RS384 needs an RSA private key of at least 2048 bits")
    elif not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp384r1":
        raise Refused("secret", "ES384 needs an elliptic-curve private key on P-384")


def target(kind: str, settings: Mapping[str, Any]) -> str:
    """Where a destination sends, in a few words for lists."""
    if kind == DestinationKind.HL7:
        return f"{settings.get('host')}:{settings.get('port')}" + (" (TLS)" if settings.get("tls") else "")
    if kind == DestinationKind.FHIR:
        return str(settings.get("base_url", ""))
    return str(settings.get("url", ""))
