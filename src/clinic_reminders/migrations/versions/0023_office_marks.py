"""office marks: what one process noted of an office that every replica must know (admin alerts sent, the
doctor's last signed test webhook)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 15:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import clinic_reminders.models.base

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "office_marks",
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_office_marks_office_id_offices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("office_id", "name", name=op.f("pk_office_marks")),
    )


def downgrade() -> None:
    op.drop_table("office_marks")
