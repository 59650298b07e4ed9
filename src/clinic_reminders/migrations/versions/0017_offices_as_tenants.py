"""offices as tenants: an office the operator added (its own Twilio account only) and its suspension

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 19:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import clinic_reminders.models.base

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, never a batch copy: on SQLite, dropping the old offices table would cascade to every row
    # that belongs to an office.
    op.add_column("offices", sa.Column("hosted", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column(
        "offices", sa.Column("suspended_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("offices", "suspended_at")
    op.drop_column("offices", "hosted")
