"""write-back: destinations of an office's events and each event's delivery there

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-16 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import clinic_reminders.models.base

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "writeback_destinations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("paused_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("paused_reason", sa.String(length=300), nullable=True),
        sa.Column("cursor", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("last_result", sa.String(length=300), nullable=True),
        sa.Column("last_result_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("created_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_writeback_destinations_office_id_offices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_writeback_destinations")),
    )
    op.create_index(op.f("ix_writeback_destinations_office_id"), "writeback_destinations", ["office_id"], unique=False)
    op.create_table(
        "writeback_deliveries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("destination_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_attempt_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_expires_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("delivered_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["destination_id"],
            ["writeback_destinations.id"],
            name=op.f("fk_writeback_deliveries_destination_id_writeback_destinations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_writeback_deliveries_office_id_offices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_writeback_deliveries")),
        sa.UniqueConstraint("destination_id", "event_id", name=op.f("uq_writeback_deliveries_destination_id_event_id")),
    )
    op.create_index(
        "ix_writeback_deliveries_appointment",
        "writeback_deliveries",
        ["destination_id", "appointment_id", "event_id"],
        unique=False,
    )
    op.create_index(
        "ix_writeback_deliveries_patient",
        "writeback_deliveries",
        ["destination_id", "patient_id", "event_id"],
        unique=False,
    )
    op.create_index(
        "ix_writeback_deliveries_due",
        "writeback_deliveries",
        ["destination_id", "status", "next_attempt_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_writeback_deliveries_due", table_name="writeback_deliveries")
    op.drop_index("ix_writeback_deliveries_patient", table_name="writeback_deliveries")
    op.drop_index("ix_writeback_deliveries_appointment", table_name="writeback_deliveries")
    op.drop_table("writeback_deliveries")
    op.drop_index(op.f("ix_writeback_destinations_office_id"), table_name="writeback_destinations")
    op.drop_table("writeback_destinations")
