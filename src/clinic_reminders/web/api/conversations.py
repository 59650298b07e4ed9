"""Two-way texting: each patient's conversation, the inbox, and staff texts (see conversations/)."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from ...conversations import staff_sms, threads
from ...models import Message, Patient
from ..deps import CurrentUser, DbDep, OfficeDep, audit_actor, shared_gateway
from .errors import NOT_FOUND, TWILIO_FAILED
from .lookups import get_or_404
from .pagination import Page, PageDep, paginate
from .schemas.common import RowId
from .schemas.messages import Conversation, ConversationSummary, MessageRead, StaffText

router = APIRouter(tags=["conversations"])


@router.get("/conversations", summary="The inbox: conversations, those needing a person and unread first")
def list_conversations(
    db: DbDep,
    office: OfficeDep,
    page: PageDep,
    unread: Annotated[bool, Query(description="Only conversations with unread answers.")] = False,
    needs_person: Annotated[bool, Query(description="Only conversations flagged for a person.")] = False,
) -> Page[ConversationSummary]:
    rows, total = threads.inbox(
        db, office.id, only_unread=unread, only_needs_person=needs_person, limit=page.limit, offset=page.offset
    )
    items = [ConversationSummary(**vars(r)) for r in rows]
    return Page[ConversationSummary](items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/conversations/{patient_id}", responses=NOT_FOUND, summary="One patient's conversation, oldest first")
def read_conversation(patient_id: RowId, db: DbDep, office: OfficeDep) -> Conversation:
    patient = get_or_404(db, Patient, patient_id, office, "patient")
    messages = [MessageRead.model_validate(m) for m in threads.messages_of(db, patient.id)]
    return Conversation(patient_id=patient.id, patient_name=patient.full_name, messages=messages)


@router.post("/conversations/{patient_id}/read", responses=NOT_FOUND, summary="Mark the patient's answers read")
def mark_read(patient_id: RowId, db: DbDep, office: OfficeDep) -> dict[str, int]:
    patient = get_or_404(db, Patient, patient_id, office, "patient")
    count = threads.mark_read(db, patient.id)
    db.commit()
    return {"marked_read": count}


@router.post(
    "/conversations/{patient_id}/messages",
    status_code=201,
    responses={**NOT_FOUND, 409: {"description": "The text may not go out now; `detail` says why."}, **TWILIO_FAILED},
    summary="Text the patient",
)
async def send_text(patient_id: RowId, body: StaffText, request: Request, user: CurrentUser) -> MessageRead:
    app = request.app
    gateway_for = partial(shared_gateway, app)
    sent = await staff_sms.text_patient(
        app.state.sessions, app.state.settings, gateway_for, user, patient_id, body.body, body.urgent
    )
    return MessageRead.model_validate(sent)


@router.get("/messages", summary="Messages, newest first")
def list_messages(
    db: DbDep,
    office: OfficeDep,
    page: PageDep,
    patient_id: RowId | None = None,
    appointment_id: RowId | None = None,
    direction: Annotated[str | None, Query(pattern="^(inbound|outbound)$")] = None,
    needs_person: bool | None = None,
    unread: bool | None = None,
) -> Page[MessageRead]:
    stmt = select(Message).where(Message.office_id == office.id)
    for column, value in (
        (Message.patient_id, patient_id),
        (Message.appointment_id, appointment_id),
        (Message.direction, direction),
        (Message.needs_person, needs_person),
        (Message.unread, unread),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    return paginate(db, stmt.order_by(Message.created_at.desc(), Message.id.desc()), page, MessageRead.model_validate)


@router.post("/messages/{message_id}/resolve", responses=NOT_FOUND, summary="A person has dealt with this answer")
def resolve(message_id: RowId, db: DbDep, office: OfficeDep, user: CurrentUser) -> MessageRead:
    message = get_or_404(db, Message, message_id, office, "message")
    threads.resolve(db, message, audit_actor(user))
    db.commit()
    return MessageRead.model_validate(message)
