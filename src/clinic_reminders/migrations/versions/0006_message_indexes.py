"""message indexes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 01:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_OPEN = sa.text("pending_choice IS NOT NULL")


def upgrade() -> None:
    op.create_index("ix_messages_office_created", "messages", ["office_id", "created_at"])
    op.create_index(
        "ix_messages_open_question",
        "messages",
        ["to_number", "created_at"],
        sqlite_where=_OPEN,
        postgresql_where=_OPEN,
    )


def downgrade() -> None:
    op.drop_index("ix_messages_open_question", table_name="messages")
    op.drop_index("ix_messages_office_created", table_name="messages")
