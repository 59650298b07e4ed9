"""The one boundary to Twilio, on the official SDK.

Set-up operations (account, numbers, caller IDs, keys, rooms, alerts) use the SDK's sync client; the dispatch
path (send SMS, place calls, list messages for reconciliation) uses its async client on aiohttp, which keeps one
connection pool per event loop. Every failure becomes a `TwilioError`; nothing here logs numbers or bodies (the
SDK's own request logging, which prints query strings, is kept quiet).

`base_url` (TWILIO_API_BASE_URL) points every Twilio domain at another host, e.g. the simulator
(`http://127.0.0.1:8080/simulator`) or a Prism mock: the SDK builds `base_url + "/" + "2010-04-01/..."`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from twilio.http.http_client import TwilioHttpClient

from .records import (
    AccountInfo,
    Alert,
    ApiKey,
    AvailableNumber,
    Balance,
    CallerId,
    CallerIdVerification,
    CallRecord,
    IncomingNumber,
    LineType,
    MessageRecord,
    PlacedCall,
    SentMessage,
    VideoRoom,
)
from .registration import RegistrationApi
from .sdk import (
    SDK_LOGGER,
    AsyncHttpClient,
    as_int,
    call_record,
    capable,
    incoming_number,
    make_client,
    message_record,
    translated,
    utc,
    utc_day,
)

if TYPE_CHECKING:
    pass

DEFAULT_CALL_EVENTS = ("initiated", "ringing", "answered", "completed")


class TwilioGateway:
    """Twilio operations for one account, returning small records (gateways.records)."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str | None = None,
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
        base_url: str | None = None,
        domain_urls: Mapping[str, str] | None = None,
        timeout: float = 15.0,
        max_connections: int = 100,
    ) -> None:
        if api_key and api_secret:
            self._credentials = (api_key, api_secret)
        elif auth_token:
            self._credentials = (account_sid, auth_token)
        else:
            raise ValueError("TwilioGateway needs the auth token or an API key and secret")
        self.account_sid = account_sid
        self.base_url = base_url.rstrip("/") if base_url else None
        self.domain_urls = dict(domain_urls or {})
        self.timeout = timeout
        self._max_connections = max_connections
        self._client = self._make_client(TwilioHttpClient(timeout=timeout, logger=SDK_LOGGER))
        self._async: tuple[asyncio.AbstractEventLoop, Any] | None = None
        self.registration = RegistrationApi(self._client, account_sid)

    def with_api_key(self, key_sid: str, secret: str) -> TwilioGateway:
        """The same account and hosts, signed in with an API key and its secret instead of the auth token."""
        return TwilioGateway(
            self.account_sid,
            api_key=key_sid,
            api_secret=secret,
            base_url=self.base_url,
            domain_urls=self.domain_urls,
            timeout=self.timeout,
        )

    def _make_client(self, http_client: Any) -> Any:
        return make_client(self._credentials, self.account_sid, self.base_url, http_client, self.domain_urls)

    @property
    def _account(self) -> Any:
        return self._client.api.v2010.accounts(self.account_sid)

    def _async_account(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._async is None or self._async[0] is not loop:
            client = self._make_client(AsyncHttpClient(self.timeout, self._max_connections))
            self._async = (loop, client)
        return self._async[1].api.v2010.accounts(self.account_sid)

    async def aclose(self) -> None:
        """Close the async connection pool (call on shutdown, from the loop that used it)."""
        if self._async is not None:
            loop, client = self._async
            self._async = None
            if loop is asyncio.get_running_loop():
                await client.http_client.session.close()

    # --- dispatch (async) -------------------------------------------------------------------------------------

    async def send_sms(
        self,
        to: str,
        from_: str | None,
        body: str,
        *,
        status_callback: str | None = None,
        validity_period: int | None = None,
        messaging_service_sid: str | None = None,
    ) -> SentMessage:
        """Create a message. `validity_period` (seconds) drops it if Twilio's queue cannot send it in time. With
        `messaging_service_sid` it goes through the office's Messaging Service (its A2P campaign); `from_` then
        picks the sender in the pool (a clinic's own number), or None lets the service choose."""
        if not from_ and not messaging_service_sid:
            raise ValueError("send_sms needs a From number or a Messaging Service")
        with translated():
            message = await self._async_account().messages.create_async(
                to=to,
                from_=from_ or None,
                messaging_service_sid=messaging_service_sid,
                body=body,
                status_callback=status_callback,
                validity_period=validity_period,
            )
        return SentMessage(
            sid=str(message.sid),
            status=str(message.status),
            num_segments=as_int(message.num_segments),
            date_created=message.date_created,
        )

    async def place_call(
        self,
        to: str,
        from_: str,
        url: str,
        *,
        method: str = "POST",
        status_callback: str | None = None,
        status_callback_event: Sequence[str] = DEFAULT_CALL_EVENTS,
        machine_detection: str | None = "Enable",
        ring_timeout: int | None = None,
    ) -> PlacedCall:
        """Call `to` from the caller ID `from_`; Twilio fetches the TwiML from `url` when answered."""
        with translated():
            call = await self._async_account().calls.create_async(
                to=to,
                from_=from_,
                url=url,
                method=method,
                status_callback=status_callback,
                status_callback_event=list(status_callback_event) if status_callback else None,
                machine_detection=machine_detection,
                timeout=ring_timeout,
            )
        return PlacedCall(sid=str(call.sid), status=str(call.status))

    async def list_messages(
        self,
        *,
        to: str | None = None,
        from_: str | None = None,
        date_sent: date | None = None,
        sent_after: datetime | None = None,
        sent_before: datetime | None = None,
        limit: int = 200,
    ) -> list[MessageRecord]:
        """Messages matching Twilio's filters (DateSent, DateSent>, DateSent< are inclusive), newest first."""
        with translated():
            messages = await self._async_account().messages.list_async(
                to=to,
                from_=from_,
                date_sent=utc_day(date_sent),
                date_sent_after=utc(sent_after),
                date_sent_before=utc(sent_before),
                limit=limit,
                page_size=min(limit, 1000),
            )
        return [message_record(m) for m in messages]

    async def list_calls(
        self,
        *,
        to: str | None = None,
        from_: str | None = None,
        started_after: datetime | None = None,
        started_before: datetime | None = None,
        limit: int = 200,
    ) -> list[CallRecord]:
        """Calls matching Twilio's filters (StartTime>, StartTime< are inclusive), newest first."""
        with translated():
            calls = await self._async_account().calls.list_async(
                to=to,
                from_=from_,
                start_time_after=utc(started_after),
                start_time_before=utc(started_before),
                limit=limit,
                page_size=min(limit, 1000),
            )
        return [call_record(c) for c in calls]

    # --- account and set-up (sync) ----------------------------------------------------------------------------

    def fetch_account(self) -> AccountInfo:
        with translated():
            account = self._account.fetch()
        return AccountInfo(
            sid=str(account.sid),
            friendly_name=str(account.friendly_name or ""),
            type=str(account.type or ""),
            status=str(account.status or ""),
        )

    def fetch_balance(self) -> Balance:
        with translated():
            balance = self._account.balance.fetch()
        try:
            amount = Decimal(str(balance.balance))
        except InvalidOperation:
            amount = Decimal(0)
        return Balance(amount=amount, currency=str(balance.currency or ""))

    def list_incoming_numbers(self, *, limit: int = 100) -> list[IncomingNumber]:
        with translated():
            numbers = self._account.incoming_phone_numbers.list(limit=limit)
        return [incoming_number(n) for n in numbers]

    def update_number_webhooks(
        self,
        number_sid: str,
        *,
        sms_url: str | None = None,
        sms_method: str | None = None,
        voice_url: str | None = None,
        voice_method: str | None = None,
    ) -> IncomingNumber:
        """Set a number's SMS/voice webhook URLs and methods; arguments left None stay as they are."""
        with translated():
            number = self._account.incoming_phone_numbers(number_sid).update(
                sms_url=sms_url, sms_method=sms_method, voice_url=voice_url, voice_method=voice_method
            )
        return incoming_number(number)

    def search_available_numbers(
        self,
        *,
        country: str = "US",
        area_code: int | None = None,
        in_locality: str | None = None,
        in_region: str | None = None,
        sms_enabled: bool = True,
        limit: int = 20,
    ) -> list[AvailableNumber]:
        with translated():
            found = self._account.available_phone_numbers(country).local.list(
                area_code=area_code,
                in_locality=in_locality,
                in_region=in_region,
                sms_enabled=sms_enabled,
                limit=limit,
            )
        return [
            AvailableNumber(
                phone_number=str(n.phone_number),
                friendly_name=str(n.friendly_name or ""),
                locality=n.locality,
                region=n.region,
                postal_code=n.postal_code,
                sms_capable=capable(n.capabilities, "sms"),
                voice_capable=capable(n.capabilities, "voice"),
            )
            for n in found
        ]

    def buy_number(
        self,
        phone_number: str,
        *,
        friendly_name: str | None = None,
        sms_url: str | None = None,
        sms_method: str | None = None,
        voice_url: str | None = None,
        voice_method: str | None = None,
    ) -> IncomingNumber:
        with translated():
            number = self._account.incoming_phone_numbers.create(
                phone_number=phone_number,
                friendly_name=friendly_name,
                sms_url=sms_url,
                sms_method=sms_method,
                voice_url=voice_url,
                voice_method=voice_method,
            )
        return incoming_number(number)

    def list_caller_ids(self, *, limit: int = 100) -> list[CallerId]:
        with translated():
            caller_ids = self._account.outgoing_caller_ids.list(limit=limit)
        return [
            CallerId(sid=str(c.sid), phone_number=str(c.phone_number), friendly_name=str(c.friendly_name or ""))
            for c in caller_ids
        ]

    def start_caller_id_verification(
        self, phone_number: str, *, friendly_name: str | None = None
    ) -> CallerIdVerification:
        """Twilio calls `phone_number`; whoever answers types the returned code to verify it as a caller ID."""
        with translated():
            request = self._account.validation_requests.create(phone_number=phone_number, friendly_name=friendly_name)
        return CallerIdVerification(
            phone_number=str(request.phone_number),
            validation_code=str(request.validation_code),
            call_sid=request.call_sid,
        )

    def create_api_key(self, friendly_name: str) -> ApiKey:
        with translated():
            key = self._account.new_keys.create(friendly_name=friendly_name)
        return ApiKey(sid=str(key.sid), friendly_name=str(key.friendly_name or ""), secret=str(key.secret))

    def create_video_room(
        self,
        unique_name: str,
        *,
        max_participants: int = 2,
        empty_room_timeout: int = 5,
        unused_room_timeout: int = 5,
        status_callback: str | None = None,
    ) -> VideoRoom:
        """A group room for a telehealth visit; it closes itself after the timeouts (minutes) once empty."""
        with translated():
            room = self._client.video.v1.rooms.create(
                type="group",
                unique_name=unique_name,
                max_participants=max_participants,
                empty_room_timeout=empty_room_timeout,
                unused_room_timeout=unused_room_timeout,
                status_callback=status_callback,
            )
        return VideoRoom(
            sid=str(room.sid),
            unique_name=str(room.unique_name),
            status=str(room.status),
            type=str(room.type),
            max_participants=as_int(room.max_participants),
            url=room.url,
        )

    def list_alerts(
        self, *, start_date: datetime | None = None, log_level: str | None = "error", limit: int = 50
    ) -> list[Alert]:
        with translated():
            alerts = self._client.monitor.v1.alerts.list(log_level=log_level, start_date=utc(start_date), limit=limit)
        return [
            Alert(
                sid=str(a.sid),
                error_code=str(a.error_code),
                log_level=str(a.log_level),
                alert_text=str(a.alert_text or ""),
                request_url=a.request_url,
                date_created=a.date_created,
                more_info=a.more_info,
            )
            for a in alerts
        ]

    def lookup_line_type(self, phone_number: str) -> LineType:
        """Lookup v2 line type intelligence (paid per lookup): tells a mobile from a landline."""
        with translated():
            result = self._client.lookups.v2.phone_numbers(phone_number).fetch(fields="line_type_intelligence")
        info = result.line_type_intelligence or {}
        return LineType(
            phone_number=str(result.phone_number),
            valid=bool(result.valid),
            line_type=info.get("type"),
            carrier_name=info.get("carrier_name"),
        )
