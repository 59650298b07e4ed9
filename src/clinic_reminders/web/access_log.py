"""Access logging without patient data: method, path, status and time, never the query string.

Twilio's SMS webhook is a GET (as the seed configures it), so its query string holds the patient's number and
message: uvicorn's own access log would write them to disk. It is turned off in favour of this one.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("clinic_reminders.access")
FHIR_NOTIFICATIONS = "/fhir/subscription/"


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            path = scope.get("path", "")
            if path.startswith("/p/"):
                path = "/p/…"  # patient links carry a token: keep it out of logs too
            elif path.startswith(FHIR_NOTIFICATIONS) and path.count("/") > 4:
                path = path.rsplit("/", 1)[0] + "/…"  # a resource's id may be a patient's record number
            log.info("%s %s %d %.1fms", scope["method"], path, status, (time.perf_counter() - started) * 1000)
