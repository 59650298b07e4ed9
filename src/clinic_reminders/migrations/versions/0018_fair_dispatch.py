"""fair dispatch: each office's due reminders found by one index seek

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 19:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_reminders_status_office_due", "reminders", ["status", "office_id", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_reminders_status_office_due", table_name="reminders")
