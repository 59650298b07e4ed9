"""dispatch fencing and dispatcher failures

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 00:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import clinic_reminders.models.base

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("reminders", sa.Column("lease_generation", sa.Integer(), nullable=False, server_default="0"))
    op.add_column(
        "worker_heartbeats",
        sa.Column("failing_since", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "worker_heartbeats",
        sa.Column("failed_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=True),
    )
    op.add_column("worker_heartbeats", sa.Column("failure", sa.String(length=200), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE, not batch mode: re-creating `reminders` on SQLite would null its messages' reminder_id.
    op.drop_column("worker_heartbeats", "failure")
    op.drop_column("worker_heartbeats", "failed_at")
    op.drop_column("worker_heartbeats", "failing_since")
    op.drop_column("reminders", "lease_generation")
