"""Message and call statuses: their names, the order Twilio reports them in, and the groups the service asks
about (was the patient contacted, did it reach them, did it fail), defined here once for the dispatcher, the
status callbacks, the staff pages, the dashboard, the metrics and the doctor.

Callbacks may arrive late, twice or out of order, and a message only ever moves forward (`advances`: a late
"sent" never overwrites "delivered").
"""

from __future__ import annotations

from enum import StrEnum


class MessageStatus(StrEnum):
    PENDING = "pending"  # written, Twilio not yet called (or the call's outcome is unknown)
    QUEUED = "queued"
    ACCEPTED = "accepted"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    RECEIVED = "received"
    # Calls
    INITIATED = "initiated"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    CANCELED = "canceled"


S = MessageStatus

# On their way: Twilio has them (or, pending, is being asked to take them).
IN_FLIGHT = (S.QUEUED, S.ACCEPTED, S.SCHEDULED, S.SENDING, S.SENT, S.INITIATED, S.RINGING, S.IN_PROGRESS)
# It reached the patient: a text delivered (or read), a call answered.
REACHED = (S.DELIVERED, S.READ, S.COMPLETED)
# Twilio or the carrier could not deliver it; the message carries the error code.
FAILED = (S.UNDELIVERED, S.FAILED)
# It ended without reaching the patient: failed, cancelled before it went, or a call that rang out or was busy.
UNANSWERED_CALL = (S.BUSY, S.NO_ANSWER)
UNREACHED = (*FAILED, S.CANCELED, *UNANSWERED_CALL)
# Nothing more is reported ("read" may still follow "delivered").
FINAL = (*REACHED, *UNREACHED)
# Twilio took it from that sender to that recipient.
TAKEN = (*IN_FLIGHT, *REACHED, *UNANSWERED_CALL)
# The patient was, or is being, contacted: what the office's caps count.
CONTACTED = (S.PENDING, *TAKEN)

# Higher rank = further along. Final states share a rank: the first one reported wins.
_MESSAGE_RANK: dict[str, int] = {
    S.PENDING: 0,
    S.ACCEPTED: 1,
    S.QUEUED: 1,
    S.SCHEDULED: 1,
    S.SENDING: 2,
    S.SENT: 3,
    S.DELIVERED: 4,
    S.UNDELIVERED: 4,
    S.FAILED: 4,
    S.CANCELED: 4,
    S.READ: 5,  # WhatsApp/RCS: reported after delivered
}
_CALL_RANK: dict[str, int] = {
    S.PENDING: 0,
    S.QUEUED: 1,
    S.INITIATED: 1,
    S.RINGING: 2,
    S.IN_PROGRESS: 3,
    S.COMPLETED: 4,
    S.BUSY: 4,
    S.NO_ANSWER: 4,
    S.FAILED: 4,
    S.CANCELED: 4,
}


def advances(channel: str, current: str, reported: str) -> bool:
    """Whether a reported status moves the message forward (unknown statuses never do)."""
    ranks = _CALL_RANK if channel == "voice" else _MESSAGE_RANK
    if reported not in ranks:
        return False
    now = ranks.get(current, 0)
    new = ranks[reported]
    if current == S.DELIVERED and reported == S.READ:
        return True
    return new > now and not (current in FINAL and now >= 4)
