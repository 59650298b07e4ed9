"""Checks of the Twilio account as the seed's checklist has them: credentials, Full and active, balance, the
number and its webhooks, verified caller IDs, the API key for video, and reachability as Twilio sees it (its
Monitor alerts; with the simulator, a signed test webhook)."""

from __future__ import annotations

import secrets
from collections import Counter
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VideoGrant

from ..gateways import IncomingNumber, TwilioError
from ..phones import InvalidPhoneNumber, display, to_e164
from .checks import CheckList, Outcome, failed, not_applicable, ok, warning
from .context import DoctorContext

checks = CheckList()

CREDENTIALS = "twilio.credentials"
NUMBER = "twilio.number.exists"
SETUP = "run `reminders setup twilio` (or the set-up page)"
CONFIRM_PATH = "/app_confirm"
PING_PATH = "/twilio/doctor-ping"
ALERT_WINDOW = timedelta(hours=24)
RECENT_ALERT = timedelta(hours=1)

# Twilio's webhook failure alerts (112xx), what they mean for us and what to do.
ALERT_CODES: dict[str, tuple[str, str]] = {
    "11200": ("our server answered with an error or not at all", "check that the service runs and its log then"),
    "11205": ("Twilio could not connect", "check that the server runs and the port is open and forwarded to it"),
    "11206": ("the answer was not valid HTTP", "check the reverse proxy in front of the service"),
    "11210": ("the public host name does not resolve", "fix the DNS record of the public host name"),
    "11215": ("too many redirects", "give Twilio the final URL: a redirect also breaks signatures"),
    "11220": ("the TLS handshake failed", "serve TLS 1.2+ with a certificate from a public CA"),
    "11235": ("the certificate is for another host name", "get a certificate for the public host name"),
    "11236": ("the certificate has expired", "renew the certificate and restart the service or proxy"),
    "11237": (
        "the certificate is not trusted (self-signed or missing intermediate)",
        "serve the full chain from a public CA",
    ),
}


def _refused(exc: TwilioError) -> Outcome:
    if exc.code == 20003 or exc.status == 401:
        return failed(
            "Twilio refused the Account SID and Auth Token",
            "copy both again from console.twilio.com (Account info); a rotated Auth Token replaces the old one",
        )
    if exc.is_transient:
        return failed(
            f"Twilio did not answer: {exc.reason}",
            "check the server's internet access to api.twilio.com (and TWILIO_API_BASE_URL), then try again",
        )
    return failed(f"Twilio refused the request: {exc}", "check the account at console.twilio.com")


@checks.add(CREDENTIALS, "Twilio accepts the credentials", depends_on=("settings.twilio_account",))
def credentials(ctx: DoctorContext) -> Outcome:
    try:
        account = ctx.gateway().fetch_account()
    except TwilioError as exc:
        return _refused(exc)
    ctx.cache["account"] = account
    return ok(f"signed in to {account.friendly_name or account.sid}")


@checks.add("twilio.account.type", "Account upgraded from Trial", depends_on=(CREDENTIALS,))
def account_type(ctx: DoctorContext) -> Outcome:
    account = ctx.cache["account"]
    if account.is_trial:
        return failed(
            "the account is a Trial: texts reach verified numbers only and begin with 'Sent from your Twilio trial "
            "account'",
            "upgrade it at console.twilio.com → Billing → Upgrade (add a payment method and funds)",
        )
    return ok(f"{account.type} account")


@checks.add("twilio.account.status", "Account active", depends_on=(CREDENTIALS,))
def account_status(ctx: DoctorContext) -> Outcome:
    status = ctx.cache["account"].status
    if status != "active":
        return failed(
            f"the account is {status}: Twilio sends no text and places no call",
            "settle the account at console.twilio.com (Billing) or contact Twilio support",
        )
    return ok("active")


@checks.add("twilio.balance", "Balance above the office's threshold", depends_on=(CREDENTIALS,))
def balance(ctx: DoctorContext) -> Outcome:
    try:
        found = ctx.gateway().fetch_balance()
    except TwilioError as exc:
        return _refused(exc)
    threshold = ctx.low_balance_threshold
    amount = f"{found.amount:.2f} {found.currency}".strip()
    fix = "add funds at console.twilio.com → Billing (or turn on auto-recharge)"
    if found.amount <= 0:
        return failed(f"the balance is {amount}: Twilio stops sending", fix)
    if found.amount < threshold:
        return warning(f"the balance is {amount}, below the office's threshold of {threshold:.2f}", fix)
    return ok(f"{amount} (threshold {threshold:.2f})")


def _e164(phone: str) -> str:
    try:
        return to_e164(phone)
    except InvalidPhoneNumber:
        return phone


def _numbers(ctx: DoctorContext) -> list[IncomingNumber]:
    if "numbers" not in ctx.cache:
        ctx.cache["numbers"] = ctx.gateway().list_incoming_numbers(limit=1000)
    numbers: list[IncomingNumber] = ctx.cache["numbers"]
    return numbers


@checks.add(NUMBER, "Phone number belongs to the account", depends_on=(CREDENTIALS, "settings.twilio_number"))
def number_exists(ctx: DoctorContext) -> Outcome:
    wanted = _e164(ctx.twilio.phone_number or "")
    try:
        numbers = _numbers(ctx)
    except TwilioError as exc:
        return _refused(exc)
    found = next((n for n in numbers if n.phone_number == wanted), None)
    if found is None:
        owned = ", ".join(n.phone_number for n in numbers[:3]) or "none"
        return failed(
            f"{wanted} is not a number of this account (it owns: {owned})",
            f"set TWILIO_PHONE_NUMBER to a number the account owns, or {SETUP} to buy one",
        )
    ctx.cache["number"] = found
    return ok(f"{display(found.phone_number)} ({found.sid})")


@checks.add("twilio.number.capabilities", "Number can text and call", depends_on=(NUMBER,))
def number_capabilities(ctx: DoctorContext) -> Outcome:
    number: IncomingNumber = ctx.cache["number"]
    missing = [name for name, able in (("SMS", number.sms_capable), ("voice", number.voice_capable)) if not able]
    if missing:
        return failed(
            f"{number.phone_number} has no {' and no '.join(missing)} capability",
            f"use a number with SMS and voice: {SETUP} buys one (US local numbers have both)",
        )
    return ok("SMS and voice")


def same_url(a: str | None, b: str | None) -> bool:
    """Equal as Twilio would call them: scheme and host case-insensitive, default ports implied."""
    if not a or not b:
        return False
    x, y = urlsplit(a), urlsplit(b)

    default = {"http": 80, "https": 443}
    return (
        x.scheme.lower() == y.scheme.lower()
        and (x.hostname or "") == (y.hostname or "")
        and (x.port or default.get(x.scheme.lower())) == (y.port or default.get(y.scheme.lower()))
        and (x.path or "/") == (y.path or "/")
        and x.query == y.query
    )


def _webhook_fix(ctx: DoctorContext, number: IncomingNumber, kind: str, method: str) -> str:
    return (
        f"{SETUP}: it sets them; or at console.twilio.com → Phone Numbers → {number.phone_number} → {kind}: "
        f"Webhook {ctx.public_url}{CONFIRM_PATH}, HTTP {method}"
    )


@checks.add(
    "twilio.number.sms_url", "SMS URL is <public>/app_confirm, HTTP GET", depends_on=(NUMBER, "settings.public_url")
)
def number_sms_url(ctx: DoctorContext) -> Outcome:
    number: IncomingNumber = ctx.cache["number"]
    expected = f"{ctx.public_url}{CONFIRM_PATH}"
    fix = _webhook_fix(ctx, number, "Messaging, A message comes in", "GET")
    if not same_url(number.sms_url, expected):
        return failed(f"patients' texts go to {number.sms_url or 'nowhere'}, not {expected}", fix)
    if (number.sms_method or "POST").upper() != "GET":
        return failed(f"the SMS URL is right but uses HTTP {number.sms_method}; it must be GET", fix)
    return ok(f"GET {expected}")


@checks.add("twilio.number.voice_url", "Voice URL is <public>/app_confirm", depends_on=(NUMBER, "settings.public_url"))
def number_voice_url(ctx: DoctorContext) -> Outcome:
    number: IncomingNumber = ctx.cache["number"]
    expected = f"{ctx.public_url}{CONFIRM_PATH}"
    if not same_url(number.voice_url, expected):
        return failed(
            f"calls to the number go to {number.voice_url or 'nowhere'}, not {expected}",
            _webhook_fix(ctx, number, "Voice, A call comes in", number.voice_method or "POST"),
        )
    return ok(f"{number.voice_method or 'POST'} {expected}")


@checks.add(
    "twilio.caller_ids", "Every clinic phone is a verified caller ID", depends_on=(CREDENTIALS, "database.connect")
)
def caller_ids(ctx: DoctorContext) -> Outcome:
    phones = ctx.clinic_phones
    if not phones:
        return ok("no active clinic yet: nothing to verify")
    try:
        usable = {c.phone_number for c in ctx.gateway().list_caller_ids(limit=1000)}
        usable |= {n.phone_number for n in _numbers(ctx)}  # numbers the account owns need no verification
    except TwilioError as exc:
        return _refused(exc)
    missing = [p for p in phones if _e164(p.phone) not in usable]
    if missing:
        names = ", ".join(f"{p.name} ({p.phone})" for p in missing[:3]) + (" ..." if len(missing) > 3 else "")
        return failed(
            f"{len(missing)} of {len(phones)} clinic phone(s) are not verified caller IDs: {names}; reminder calls "
            "cannot show them",
            f"{SETUP}: Twilio calls each phone and whoever answers types the 6-digit code it shows",
        )
    return ok(f"all {len(phones)} clinic phone(s) verified")


@checks.add("twilio.api_key", "API key and secret stored", depends_on=(CREDENTIALS,))
def api_key(ctx: DoctorContext) -> Outcome:
    config = ctx.twilio
    if not config.api_key or not config.api_secret:
        return failed(
            "no API key and secret: video visits cannot start",
            f"{SETUP}: it creates a key and stores its secret encrypted",
        )
    if not config.api_key.startswith("SK"):
        return failed(
            f"TWILIO_API_KEY is {config.api_key[:2]}..., not an API key SID (SK...)",
            f"{SETUP}, or copy the SID of an API key from console.twilio.com → API keys",
        )
    return ok(f"key {config.api_key}")


@checks.add("twilio.video", "API key signs a video token and opens a room", depends_on=("twilio.api_key",))
def video(ctx: DoctorContext) -> Outcome:
    config = ctx.twilio
    name = f"doctor-check-{secrets.token_hex(4)}"
    token = AccessToken(config.account_sid, config.api_key, config.api_secret, identity="doctor-check", ttl=300)
    token.add_grant(VideoGrant(room=name))
    if not token.to_jwt():
        return failed("no video token could be signed", f"{SETUP} to create a new API key")
    try:
        room = ctx.key_gateway().create_video_room(
            name, max_participants=2, empty_room_timeout=1, unused_room_timeout=1
        )
    except TwilioError as exc:
        if exc.code == 20003 or exc.status == 401:
            return failed(
                f"Twilio refused API key {config.api_key} with the stored secret: the tokens it signs are worthless",
                f"{SETUP}: it replaces a key that no longer works (Twilio shows a secret only once)",
            )
        return _refused(exc)
    return ok(f"signed a video token and opened test room {room.sid}")


def _ours(ctx: DoctorContext, url: str | None) -> bool:
    return bool(url) and (urlsplit(url or "").hostname or "") == (urlsplit(ctx.public_url or "").hostname or "")


@checks.add("twilio.alerts", "No webhook failures in Twilio's alerts", depends_on=(CREDENTIALS, "settings.public_url"))
def alerts(ctx: DoctorContext) -> Outcome:
    try:
        found = ctx.gateway().list_alerts(start_date=ctx.now - ALERT_WINDOW, log_level="error", limit=200)
    except TwilioError as exc:
        return _refused(exc)
    ours = [a for a in found if a.error_code.startswith("112") and _ours(ctx, a.request_url)]
    if not ours:
        return ok("no webhook failure on our URLs in the last 24 h")
    ours.sort(key=lambda a: a.date_created or ctx.now, reverse=True)
    latest = ours[0]
    meaning, fix = ALERT_CODES.get(latest.error_code, ("Twilio could not use our answer", "check the service's log"))
    counts = ", ".join(f"{code} ×{n}" for code, n in sorted(Counter(a.error_code for a in ours).items()))
    when = f"{latest.date_created:%Y-%m-%d %H:%M} UTC" if latest.date_created else "recently"
    path = urlsplit(latest.request_url or "").path or "/"
    explanation = (
        f"Twilio failed to reach us {len(ours)} time(s) in 24 h ({counts}); latest {when} on {path}: {meaning}"
    )
    recent = latest.date_created is None or ctx.now - latest.date_created < RECENT_ALERT
    return failed(explanation, fix) if recent else warning(explanation + " (none in the last hour)", fix)


@checks.add(
    "twilio.webhook.signed",
    "A signed test webhook arrives and validates",
    depends_on=(CREDENTIALS, "settings.public_url"),
)
def signed_webhook(ctx: DoctorContext) -> Outcome:
    base = ctx.twilio.base_url
    if not base:
        return not_applicable("real Twilio: reachability comes from its alerts (twilio.alerts)")
    nonce = secrets.token_hex(8)
    url = f"{ctx.public_url}{PING_PATH}?check={nonce}"
    account = ctx.twilio.account_sid
    payload = {"account_sid": account, "url": url, "method": "POST", "params": {"AccountSid": account, "Check": nonce}}
    try:
        response = httpx.post(f"{base}/api/webhook", json=payload, timeout=ctx.probe_timeout + 20)
    except httpx.HTTPError as exc:
        return failed(f"the simulator did not answer ({type(exc).__name__})", "check TWILIO_API_BASE_URL")
    if response.status_code == 404:
        return not_applicable("TWILIO_API_BASE_URL is not the built-in simulator: no test webhook")
    result = response.json() if response.is_success else {}
    status, body = result.get("status"), str(result.get("body", ""))
    if status is None:
        return failed(
            f"the signed test webhook to {ctx.public_url}{PING_PATH} did not arrive: nothing answered",
            "check that the service runs at the public URL (and that the simulator trusts its certificate)",
        )
    if status == 403:
        return failed(
            "the test webhook arrived but its signature did not validate",
            "make the public URL exactly the one Twilio calls (scheme, host, port) and use the account's current "
            "auth token",
        )
    if status != 200 or nonce not in body:
        return failed(
            f"the test webhook got HTTP {status} from {ctx.public_url}{PING_PATH}",
            "check that the public URL points at this service, not at another server or a redirect",
        )
    return ok(f"a signed test webhook arrived at {PING_PATH} and validated")
