"""Voice calls as Twilio plays them: ring, answer, fetch TwiML, speak `<Say>`, wait at `<Gather>` for digits,
post them to the Gather's action, follow `<Redirect>`, `<Dial>`, `<Hangup>`, and send status callbacks.

A call rings until it is answered (phone page or `POST /simulator/api/calls/{sid}/answer`), unless the
configuration answers every call; magic numbers end it as busy, no-answer, failed or answered by a machine.
A caller-ID verification call waits for its validation code instead of fetching TwiML.
"""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

from . import twiml
from .magic import CALL_OUTCOMES
from .state import Account, Call, CallerIdRecord, Gather, new_sid, now

if TYPE_CHECKING:
    from .core import Simulator

FINAL = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
EVENT_OF_STATUS = {"queued": "initiated", "ringing": "ringing", "in-progress": "answered"}


class CallStateError(RuntimeError):
    """The call is not in a state where that can happen (e.g. pressing digits on a call that ended)."""


def call_summary(call: Call) -> dict[str, Any]:
    return {
        "sid": call.sid,
        "account_sid": call.account_sid,
        "to": call.to,
        "from": call.from_,
        "status": call.status,
        "direction": call.direction,
        "answered_by": call.answered_by,
        "created": call.date_created.isoformat(),
        "duration": call.duration,
        "url": call.url,
        "body": " ".join(step["say"] for step in call.transcript if "say" in step),  # what the patient heard
        "transcript": list(call.transcript),
        "gather": None
        if call.gather is None
        else {"action": call.gather.action, "method": call.gather.method, "num_digits": call.gather.num_digits},
        "verification": call.validation_code is not None,
    }


class CallEngine:
    def __init__(self, sim: Simulator) -> None:
        self._sim = sim
        self._event_locks: dict[str, asyncio.Lock] = {}  # one per call: its callbacks go out in order

    def _account(self, call: Call) -> Account:
        return self._sim.store.accounts[call.account_sid]

    def get(self, sid: str) -> Call:
        call = self._sim.store.calls.get(sid)
        if call is None:
            raise KeyError(sid)
        return call

    def start(self, call: Call) -> None:
        self._sim.store.calls[call.sid] = call
        self._sim.spawn(self._ring(call))

    async def _ring(self, call: Call) -> None:
        await self._event(call)  # initiated
        await asyncio.sleep(self._sim.config.callback_delay_ms / 1000)
        if call.status != "queued":  # answered or ended meanwhile
            return
        self._set(call, "ringing")
        await self._event(call)
        outcome = CALL_OUTCOMES.get(call.to)
        if outcome in ("busy", "no-answer", "failed"):
            await asyncio.sleep(self._sim.config.callback_delay_ms / 1000)
            await self._finish(call, outcome)
        elif outcome == "machine":
            await self.answer(call.sid, answered_by="machine_start")
        elif self._sim.config.auto_answer_calls:
            await self.answer(call.sid)
        else:
            await asyncio.sleep(call.ring_timeout)
            if call.status == "ringing":
                await self._finish(call, "no-answer")

    async def answer(self, sid: str, answered_by: str = "human") -> Call:
        call = self.get(sid)
        if call.status not in ("queued", "ringing"):
            raise CallStateError(f"the call is {call.status}, not ringing")
        if call.status == "queued":  # a phone rings before anyone picks it up
            self._set(call, "ringing")
            await self._event(call)
        call.answered_by = answered_by if call.machine_detection else None
        call.start_time = now()
        self._set(call, "in-progress")
        await self._event(call)
        if call.validation_code is not None:
            call.transcript.append({"say": "Please enter your validation code, followed by the pound sign."})
            call.gather = Gather("", "POST", 6, "#", False, [])
        elif call.url:
            await self._fetch_and_run(call, call.url, call.method)
        elif call.twiml:
            await self._run_document(call, call.twiml, None)
        else:
            await self._finish(call, "completed")
        return call

    async def press(self, sid: str, digits: str) -> Call:
        """Type `digits` at the pending `<Gather>`; an empty string is a Gather that timed out."""
        call = self.get(sid)
        gather = call.gather
        if call.status != "in-progress" or gather is None:
            raise CallStateError("the call is not waiting for digits")
        call.gather = None
        if gather.finish_on_key and gather.finish_on_key in digits:
            digits = digits.split(gather.finish_on_key, 1)[0]
        if gather.num_digits:
            digits = digits[: gather.num_digits]
        call.transcript.append({"pressed": digits})
        if call.validation_code is not None:
            await self._verify(call, digits)
        elif digits or gather.action_on_empty_result:
            await self._fetch_and_run(call, gather.action, gather.method, [("Digits", digits)])
        else:
            await self._run(call, gather.remaining)
        return call

    async def hangup(self, sid: str) -> Call:
        call = self.get(sid)
        if call.status == "in-progress":
            await self._finish(call, "completed")
        elif call.status in ("queued", "ringing"):
            await self._finish(call, "no-answer" if call.direction.startswith("outbound") else "canceled")
        return call

    async def _verify(self, call: Call, digits: str) -> None:
        account = self._account(call)
        if digits == call.validation_code:
            sid = new_sid("PN")
            account.caller_ids[sid] = CallerIdRecord(sid, account.sid, call.to, call.to)
            call.transcript.append({"say": "Thank you. Your phone number has been verified."})
        else:
            call.transcript.append({"say": "The code you entered is not correct. Goodbye."})
        await self._finish(call, "completed")

    def _params(self, call: Call) -> list[tuple[str, str]]:
        params = [
            ("AccountSid", call.account_sid),
            ("ApiVersion", "2010-04-01"),
            ("CallSid", call.sid),
            ("CallStatus", call.status),
            ("Called", call.to),
            ("Caller", call.from_),
            ("Direction", call.direction),
            ("From", call.from_),
            ("To", call.to),
        ]
        if call.answered_by:
            params.append(("AnsweredBy", call.answered_by))
        return params

    async def _fetch_and_run(
        self, call: Call, url: str, method: str, extra: list[tuple[str, str]] | None = None
    ) -> None:
        call.current_url = url
        params = self._params(call) + (extra or [])
        answer = await self._sim.webhooks.send(self._account(call), url, method, params, resource_sid=call.sid)
        if answer.status is None or not 200 <= answer.status < 300:
            call.transcript.append({"error": f"webhook answered {answer.status}", "url": answer.url})
            call.transcript.append({"say": "We are sorry, an application error has occurred. Goodbye."})
            await self._finish(call, "completed")
            return
        await self._run_document(call, answer.body, answer.url)

    async def _run_document(self, call: Call, document: str, url: str | None) -> None:
        try:
            root = twiml.parse(document)
        except twiml.TwimlError as exc:
            call.transcript.append({"error": f"TwiML: {exc}", "url": url})
            await self._finish(call, "completed")
            return
        await self._run(call, list(root))

    async def _run(self, call: Call, verbs: list[ET.Element]) -> None:
        for index, verb in enumerate(verbs):
            if call.status != "in-progress":
                return
            tag = verb.tag
            if tag in ("Say", "Play"):
                call.transcript.append({tag.lower(): twiml.text(verb)})
            elif tag == "Pause":
                call.transcript.append({"pause": int(verb.get("length", "1"))})
            elif tag == "Gather":
                for inner in verb:
                    if inner.tag in ("Say", "Play"):
                        call.transcript.append({inner.tag.lower(): twiml.text(inner)})
                num_digits = verb.get("numDigits")
                call.gather = Gather(
                    action=verb.get("action") or call.current_url or "",
                    method=(verb.get("method") or "POST").upper(),
                    num_digits=int(num_digits) if num_digits else None,
                    finish_on_key=verb.get("finishOnKey", "#"),
                    action_on_empty_result=verb.get("actionOnEmptyResult", "false").lower() == "true",
                    remaining=verbs[index + 1 :],
                )
                return
            elif tag == "Dial":
                number = verb.find("Number")
                call.transcript.append({"dial": twiml.text(number if number is not None else verb)})
            elif tag in ("Message", "Sms"):
                for sms in twiml.messages(_wrap(verb)):
                    self._sim.record_outbound(
                        self._account(call), to=sms.to or call.to, from_=sms.from_ or call.from_, body=sms.body
                    )
            elif tag == "Redirect":
                await self._fetch_and_run(call, twiml.text(verb), (verb.get("method") or "POST").upper())
                return
            elif tag in ("Hangup", "Reject"):
                call.transcript.append({"hangup": True})
                await self._finish(call, "completed")
                return
        await self._finish(call, "completed")

    def _set(self, call: Call, status: str) -> None:
        call.status = status
        call.date_updated = now()

    async def _finish(self, call: Call, status: str) -> None:
        if call.status in FINAL:
            return
        call.gather = None
        call.end_time = now()
        if call.start_time is None:
            call.start_time = call.end_time
        self._set(call, status)
        await self._event(call)

    async def _event(self, call: Call) -> None:
        """Status callback for the call's current status, if the caller asked for that event.

        The parameters are taken now; a per-call lock sends them in order even when the call moves on meanwhile.
        """
        final = call.status in FINAL
        event = "completed" if final else EVENT_OF_STATUS.get(call.status, "")
        if not call.status_callback or event not in call.status_callback_events:
            return
        call.sequence += 1
        params = [(k, "initiated" if k == "CallStatus" and event == "initiated" else v) for k, v in self._params(call)]
        params += [
            ("CallbackSource", "call-progress-events"),
            ("SequenceNumber", str(call.sequence - 1)),
            ("Timestamp", now().strftime("%a, %d %b %Y %H:%M:%S +0000")),
        ]
        if final:
            params += [("CallDuration", str(call.duration or 0)), ("Duration", str(-(-(call.duration or 0) // 60)))]
        account, url, method = self._account(call), call.status_callback, call.status_callback_method
        async with self._event_locks.setdefault(call.sid, asyncio.Lock()):
            await self._sim.webhooks.send(account, url, method, params, resource_sid=call.sid)
        if final:
            self._event_locks.pop(call.sid, None)


def _wrap(verb: ET.Element) -> ET.Element:
    root = ET.Element("Response")
    root.append(verb)
    return root
