"""message pending choice

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("messages", sa.Column("pending_choice", sa.JSON(), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE, not batch mode: a copy of `messages` on SQLite would cascade-delete its delivery events.
    op.drop_column("messages", "pending_choice")
