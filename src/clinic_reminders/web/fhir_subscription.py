"""`/fhir/subscription/{destination id}`: a FHIR server's Subscription notifications (R4 rest-hook), imported by
`writeback.fhir_subscription`. The token is checked before the body is read; a wrong token and an unknown
destination get the same 401. Answers are OperationOutcomes (application/fhir+json)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from ..crypto import DecryptionError, SecretBox
from ..writeback import fhir_subscription, registry
from ..writeback.fhir_http import FHIR_JSON
from ..writeback.fhir_subscription import PATH, Received, unusable
from ..writeback.transports import DestinationConfig

router = APIRouter(include_in_schema=False)
MAX_BODY = 16 * 2**20  # bytes: a notification is one Appointment or a small Bundle


@router.post(PATH + "/{destination_id}")
async def notified(request: Request, destination_id: str) -> JSONResponse:
    return await _receive(request, destination_id, None)


@router.api_route(PATH + "/{destination_id}/{resource_type}/{resource_id}", methods=["PUT", "POST"])
async def notified_of(request: Request, destination_id: str, resource_type: str, resource_id: str) -> JSONResponse:
    return await _receive(request, destination_id, (resource_type, resource_id))


async def _receive(request: Request, destination_id: str, named: tuple[str, str] | None) -> JSONResponse:
    sessions: sessionmaker[Session] = request.app.state.sessions
    box = SecretBox(request.app.state.settings.secret_key_value)
    authorization = request.headers.get("authorization")
    config = await run_in_threadpool(_authenticated, sessions, box, destination_id, authorization)
    if config is None:
        refused = unusable(401, "send the Subscription's token as 'Authorization: Bearer <token>'", "login")
        return _answer(refused, {"WWW-Authenticate": "Bearer"})
    body = await _body(request)
    if body is None:
        return _answer(unusable(413, f"larger than {MAX_BODY // 2**20} MiB", "too-costly"))
    received = await run_in_threadpool(fhir_subscription.receive, sessions, config, body, named)
    return _answer(received)


def _authenticated(
    sessions: sessionmaker[Session], box: SecretBox, destination_id: str, authorization: str | None
) -> DestinationConfig | None:
    with sessions() as db:
        destination = fhir_subscription.authenticated(db, destination_id, authorization)
        if destination is None:
            return None
        try:
            return registry.config_of(destination, box)
        except DecryptionError:  # the notification can still be imported; reading from the server cannot
            settings = dict(destination.settings)
            return DestinationConfig(destination.id, destination.office_id, destination.kind, "", settings)


async def _body(request: Request) -> bytes | None:
    """The body, or None past MAX_BODY (told by Content-Length, or counted as it arrives)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _answer(received: Received, headers: dict[str, Any] | None = None) -> JSONResponse:
    return JSONResponse(received.outcome(), received.status, headers=headers, media_type=FHIR_JSON)
