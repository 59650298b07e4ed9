"""A phone texts one of our numbers: Twilio's delivery to the number's SMS URL, and its opt-out handling.

Twilio forwards every inbound text to the SMS URL with the number's method, signed, or, for a number in a
Messaging Service that does not defer to the number's webhook (`use_inbound_webhook_on_number` false), to the
service's inbound request URL with its method (no URL: no webhook), with `MessagingServiceSid` among the
parameters. `<Message>` verbs in the TwiML answer become outbound replies. A single-word STOP (and synonyms)
opts the phone out of that number (later sends fail with 21610) and Twilio sends its own confirmation;
START/UNSTOP/YES opt back in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import twiml
from .state import Message

if TYPE_CHECKING:
    from .core import Simulator

OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN = frozenset({"START", "YES", "UNSTOP"})
OPT_OUT_REPLY = (
    "You have successfully been unsubscribed. You will not receive any more messages from this number. "
    "Reply START to resubscribe."
)
OPT_IN_REPLY = "You have successfully been re-subscribed to messages from this number. Reply HELP for help."


class UnknownNumberError(LookupError):
    """The text was sent to a number no simulated account owns."""


def summary(message: Message) -> dict[str, Any]:
    return {
        "sid": message.sid,
        "to": message.to,
        "from": message.from_,
        "body": message.body,
        "status": message.status,
        "direction": message.direction,
    }


async def deliver_inbound_sms(sim: Simulator, from_: str, to: str, body: str) -> dict[str, Any]:
    """Deliver a text from `from_` (a phone) to `to` (our number); returns what the webhook answered."""
    number = sim.store.number_anywhere(to)
    if number is None:
        raise UnknownNumberError(to)
    account = sim.store.accounts[number.account_sid]
    message = sim.record_inbound(account, from_=from_, to=to, body=body)
    replies: list[Message] = []
    keyword = body.strip().upper()
    if keyword in OPT_OUT:
        account.opted_out.add((from_, to))
        replies.append(sim.record_outbound(account, to=from_, from_=to, body=OPT_OUT_REPLY, direction="outbound-reply"))
    elif keyword in OPT_IN and (from_, to) in account.opted_out:
        account.opted_out.discard((from_, to))
        replies.append(sim.record_outbound(account, to=from_, from_=to, body=OPT_IN_REPLY, direction="outbound-reply"))

    result: dict[str, Any] = {"message_sid": message.sid, "status": None, "content_type": "", "body": "", "url": None}
    service = sim.registry.of(account.sid).service_of(number.sid)
    url, method = number.sms_url, number.sms_method
    if service is not None and not service.use_inbound_webhook_on_number:
        url, method = service.inbound_request_url, service.inbound_method
    if url:
        params = [
            ("ToCountry", "US"),
            ("SmsMessageSid", message.sid),
            ("NumMedia", "0"),
            ("SmsSid", message.sid),
            ("SmsStatus", "received"),
            ("Body", body),
            ("FromCountry", "US"),
            ("To", to),
            ("NumSegments", str(message.num_segments)),
            ("MessageSid", message.sid),
            ("AccountSid", account.sid),
            ("From", from_),
            ("ApiVersion", "2010-04-01"),
        ]
        if service is not None:
            params.append(("MessagingServiceSid", service.sid))
        answer = await sim.webhooks.send(account, url, method, params, resource_sid=message.sid)
        result.update(status=answer.status, content_type=answer.content_type, body=answer.body, url=answer.url)
        if answer.status is not None and 200 <= answer.status < 300 and answer.body.strip():
            try:
                verbs = twiml.messages(twiml.parse(answer.body))
            except twiml.TwimlError as exc:
                result["twiml_error"] = str(exc)
                verbs = []
            if (from_, to) not in account.opted_out:
                for verb in verbs:
                    replies.append(
                        sim.record_outbound(
                            account,
                            to=verb.to or from_,
                            from_=verb.from_ or to,
                            body=verb.body,
                            direction="outbound-reply",
                            status_callback=verb.status_callback,
                        )
                    )
    result["replies"] = [summary(r) for r in replies]
    return result
