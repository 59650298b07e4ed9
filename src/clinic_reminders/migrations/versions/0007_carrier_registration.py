"""carrier registration

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 23:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import clinic_reminders.models.base

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "business_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("legal_name", sa.String(length=200), nullable=False),
        sa.Column("business_type", sa.String(length=40), nullable=False),
        sa.Column("ein", sa.String(length=10), nullable=False),
        sa.Column("street", sa.String(length=200), nullable=False),
        sa.Column("street2", sa.String(length=200), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("region", sa.String(length=50), nullable=False),
        sa.Column("postal_code", sa.String(length=20), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("website", sa.String(length=300), nullable=False),
        sa.Column("privacy_policy_url", sa.String(length=300), nullable=False),
        sa.Column("contact_first_name", sa.String(length=100), nullable=False),
        sa.Column("contact_last_name", sa.String(length=100), nullable=False),
        sa.Column("contact_title", sa.String(length=100), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=False),
        sa.Column("contact_phone", sa.String(length=20), nullable=False),
        sa.Column("consent_flow", sa.Text(), nullable=False),
        sa.Column("monthly_volume", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("created_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_business_profiles_office_id_offices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_profiles")),
        sa.UniqueConstraint("office_id", name=op.f("uq_business_profiles_office_id")),
    )
    with op.batch_alter_table("business_profiles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_business_profiles_office_id"), ["office_id"], unique=False)

    op.create_table(
        "registrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=20), nullable=False),
        sa.Column("twilio_sid", sa.String(length=34), nullable=True),
        sa.Column("twilio_status", sa.String(length=40), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("submitted_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("state_changed_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("checked_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("created_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_registrations_office_id_offices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registrations")),
        sa.UniqueConstraint("office_id", "kind", "subject", name=op.f("uq_registrations_office_id_kind_subject")),
    )
    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_registrations_office_id"), ["office_id"], unique=False)

    op.add_column("offices", sa.Column("twilio_messaging_service_sid", sa.String(length=34), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE, not batch mode: a copy of `offices` on SQLite would cascade-delete every office-owned row.
    op.drop_column("offices", "twilio_messaging_service_sid")

    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registrations_office_id"))

    op.drop_table("registrations")
    with op.batch_alter_table("business_profiles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_business_profiles_office_id"))

    op.drop_table("business_profiles")
