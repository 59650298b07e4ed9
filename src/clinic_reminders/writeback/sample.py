"""The test event that "Send a test event" sends: a payload of version 1, shaped like a patient's confirmation,
about nobody. Its type, "writeback.test", tells a receiver to check the connection and change nothing."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from .payload import VERSION, iso
from .transports import TEST_EVENT, Payload


def payload(office_id: int, now: datetime | None = None) -> Payload:
    """A new id each time ("evt_test_" and 16 random hex digits): a receiver that de-duplicates takes every test."""
    now = now or datetime.now(UTC)
    starts = (now + timedelta(days=1)).replace(hour=15, minute=0, second=0, microsecond=0)
    return {
        "id": f"evt_test_{secrets.token_hex(8)}",
        "type": TEST_EVENT,
        "version": VERSION,
        "created_at": iso(now),
        "office_id": office_id,
        "data": {
            "appointment": {
                "id": 0,
                "external_id": "TEST-APPOINTMENT",
                "status": "confirmed",
                "starts_at": iso(starts),
                "duration_minutes": 30,
                "kind": "in-person",
                "clinic": {"id": 0, "name": "Test clinic", "code": None},
                "provider": {"id": 0, "name": "Dr. Test Provider", "code": None},
            },
            "patient": {
                "id": 0,
                "external_id": "TEST-PATIENT",
                "family_name": "Test",
                "given_name": "Patient",
                "sms_opted_out": False,
                "voice_opted_out": False,
            },
            "reminder_id": None,
            "message_id": None,
            "details": {"previous": "scheduled", "by": "patient", "test": True},
        },
    }
