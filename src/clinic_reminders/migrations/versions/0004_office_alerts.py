"""office alerts

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("offices", sa.Column("alert_email", sa.Text(), nullable=True))
    op.add_column("offices", sa.Column("alert_sms", sa.String(length=20), nullable=True))
    op.add_column("offices", sa.Column("smtp_url_encrypted", sa.Text(), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE, not batch mode: a copy of `offices` on SQLite would cascade-delete every office-owned row.
    op.drop_column("offices", "smtp_url_encrypted")
    op.drop_column("offices", "alert_sms")
    op.drop_column("offices", "alert_email")
