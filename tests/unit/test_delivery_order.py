"""Status callbacks only move a message forward, whatever order they arrive in."""

from __future__ import annotations

import itertools

import pytest

from clinic_reminders.messaging.delivery import advances


def final_status(channel: str, reports: tuple[str, ...], start: str = "pending") -> str:
    status = start
    for reported in reports:
        if advances(channel, status, reported):
            status = reported
    return status


@pytest.mark.parametrize("order", list(itertools.permutations(("queued", "sending", "sent", "delivered"))))
def test_any_order_of_a_delivered_message_ends_delivered(order: tuple[str, ...]) -> None:
    assert final_status("sms", order) == "delivered"


@pytest.mark.parametrize(
    ("current", "reported", "moves"),
    [
        ("queued", "sent", True),
        ("sent", "queued", False),
        ("delivered", "sent", False),
        ("delivered", "undelivered", False),
        ("undelivered", "delivered", False),
        ("delivered", "read", True),
        ("sent", "failed", True),
        ("sent", "sent", False),
        ("sent", "exploded", False),
        ("pending", "queued", True),
    ],
)
def test_it_moves_messages_forward_only(current: str, reported: str, moves: bool) -> None:
    assert advances("sms", current, reported) is moves


@pytest.mark.parametrize(
    ("current", "reported", "moves"),
    [
        ("queued", "ringing", True),
        ("in-progress", "ringing", False),
        ("completed", "in-progress", False),
        ("ringing", "no-answer", True),
        ("busy", "completed", False),
    ],
)
def test_it_moves_calls_forward_only(current: str, reported: str, moves: bool) -> None:
    assert advances("voice", current, reported) is moves
