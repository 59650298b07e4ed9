"""PMS codes: the practice-management system's location and provider codes, mapped to clinics and providers

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-17 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import clinic_reminders.models.base

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pms_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=50), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=True),
        sa.Column("provider_id", sa.Integer(), nullable=True),
        sa.Column("seen_count", sa.Integer(), nullable=False),
        sa.Column("last_seen_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("created_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_pms_codes_clinic_id_clinics"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_pms_codes_office_id_offices"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_pms_codes_provider_id_providers"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pms_codes")),
        sa.UniqueConstraint("office_id", "kind", "code", name=op.f("uq_pms_codes_office_id_kind_code")),
    )
    op.create_index(op.f("ix_pms_codes_office_id"), "pms_codes", ["office_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_pms_codes_office_id"), table_name="pms_codes")
    op.drop_table("pms_codes")
