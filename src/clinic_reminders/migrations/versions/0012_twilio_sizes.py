"""twilio sizes: channel addresses fit messages.to_number/from_number; one delivery event per SID and status

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-14 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_NUMBERS = ("to_number", "from_number")


@contextmanager
def _foreign_keys_off() -> Iterator[None]:
    """SQLite alters a column by copying the table; dropping the old `messages` with foreign keys on would
    cascade-delete its delivery events. The pragma only takes effect outside a transaction."""
    if op.get_bind().dialect.name != "sqlite":
        yield
        return
    with op.get_context().autocommit_block():
        op.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        with op.get_context().autocommit_block():
            op.execute("PRAGMA foreign_keys=ON")


def _resize_numbers(old: int, new: int) -> None:
    with _foreign_keys_off(), op.batch_alter_table("messages") as batch_op:
        for column in _NUMBERS:
            batch_op.alter_column(
                column, existing_type=sa.String(length=old), type_=sa.String(length=new), existing_nullable=False
            )


def upgrade() -> None:
    _resize_numbers(20, 100)  # "whatsapp:+14155550100" is 21 characters
    # Concurrent copies of one callback could each be recorded before the unique index: keep the first of each.
    op.execute(
        "DELETE FROM delivery_events WHERE id NOT IN (SELECT MIN(id) FROM delivery_events GROUP BY twilio_sid, status)"
    )
    op.create_index("uq_delivery_events_sid_status", "delivery_events", ["twilio_sid", "status"], unique=True)
    op.drop_index("ix_delivery_events_twilio_sid", table_name="delivery_events")  # the unique index leads with it


def downgrade() -> None:
    op.create_index("ix_delivery_events_twilio_sid", "delivery_events", ["twilio_sid"])
    op.drop_index("uq_delivery_events_sid_status", table_name="delivery_events")
    op.execute("UPDATE messages SET to_number = substr(to_number, 1, 20), from_number = substr(from_number, 1, 20)")
    _resize_numbers(100, 20)
