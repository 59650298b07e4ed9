"""The order of Twilio's message and call statuses: callbacks may arrive late, twice or out of order, and a
message only ever moves forward (a late "sent" never overwrites "delivered")."""

from __future__ import annotations

# Higher rank = further along. Final states share a rank: the first one reported wins.
_MESSAGE_RANK = {
    "pending": 0,
    "accepted": 1,
    "queued": 1,
    "scheduled": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "canceled": 4,
    "read": 5,  # WhatsApp/RCS: reported after delivered
}
_CALL_RANK = {
    "pending": 0,
    "queued": 1,
    "initiated": 1,
    "ringing": 2,
    "in-progress": 3,
    "completed": 4,
    "busy": 4,
    "no-answer": 4,
    "failed": 4,
    "canceled": 4,
}
FINAL = {"delivered", "undelivered", "failed", "canceled", "read", "completed", "busy", "no-answer"}


def advances(channel: str, current: str, reported: str) -> bool:
    """Whether a reported status moves the message forward (unknown statuses never do)."""
    ranks = _CALL_RANK if channel == "voice" else _MESSAGE_RANK
    if reported not in ranks:
        return False
    now = ranks.get(current, 0)
    new = ranks[reported]
    if current == "delivered" and reported == "read":
        return True
    return new > now and not (current in FINAL and now >= 4)
