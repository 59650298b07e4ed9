"""registration profile fields: the representative's job position, the terms URL, how patients opt in

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-12 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMNS = (
    ("contact_job_position", 20),
    ("terms_url", 300),
    ("opt_in_type", 20),
    ("opt_in_url", 300),
)


def upgrade() -> None:
    with op.batch_alter_table("business_profiles", schema=None) as batch_op:
        for name, length in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.String(length=length), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("business_profiles", schema=None) as batch_op:
        for name, _length in reversed(COLUMNS):
            batch_op.drop_column(name)
