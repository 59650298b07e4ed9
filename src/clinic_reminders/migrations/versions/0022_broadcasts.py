"""broadcasts (a text to the patients of a closed clinic's days) and after-hours auto-replies (opening hours,
holidays, one reply per inbound text looked at)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02 18:36:15.345007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import clinic_reminders.models.base

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "after_hours_settings",
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("holiday_country", sa.String(length=3), nullable=True),
        sa.Column("holiday_subdivision", sa.String(length=10), nullable=True),
        sa.Column("closed_dates", sa.JSON(), nullable=False),
        sa.Column("events_from", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_cursor", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_after_hours_settings_office_id_offices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("office_id", name=op.f("pk_after_hours_settings")),
    )
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.Column("patients", sa.Integer(), nullable=False),
        sa.Column("estimated_cost", sa.Numeric(precision=10, scale=5), nullable=False),
        sa.Column("sent_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("created_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_broadcasts_clinic_id_clinics"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_broadcasts_office_id_offices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
        sa.UniqueConstraint("office_id", "token", name=op.f("uq_broadcasts_office_id_token")),
    )
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_broadcasts_office_id"), ["office_id"], unique=False)

    op.create_table(
        "opening_hours",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("opens", sa.Time(), nullable=False),
        sa.Column("closes", sa.Time(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_opening_hours_clinic_id_clinics"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_opening_hours_office_id_offices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opening_hours")),
        sa.UniqueConstraint("clinic_id", "weekday", name=op.f("uq_opening_hours_clinic_id_weekday")),
    )
    with op.batch_alter_table("opening_hours", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_opening_hours_office_id"), ["office_id"], unique=False)

    op.create_table(
        "auto_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inbound_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("number", sa.String(length=100), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("created_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["inbound_id"], ["messages.id"], name=op.f("fk_auto_replies_inbound_id_messages"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_auto_replies_message_id_messages"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_auto_replies_office_id_offices"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_auto_replies_patient_id_patients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auto_replies")),
        sa.UniqueConstraint("inbound_id", name=op.f("uq_auto_replies_inbound_id")),
    )
    with op.batch_alter_table("auto_replies", schema=None) as batch_op:
        batch_op.create_index("ix_auto_replies_number_created", ["number", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_auto_replies_office_id"), ["office_id"], unique=False)
        batch_op.create_index("ix_auto_replies_patient_created", ["patient_id", "created_at"], unique=False)

    op.create_table(
        "broadcast_recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("due_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("created_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["broadcasts.id"],
            name=op.f("fk_broadcast_recipients_broadcast_id_broadcasts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_broadcast_recipients_message_id_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_broadcast_recipients_office_id_offices"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_broadcast_recipients_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcast_recipients")),
        sa.UniqueConstraint("broadcast_id", "patient_id", name=op.f("uq_broadcast_recipients_broadcast_id_patient_id")),
    )
    with op.batch_alter_table("broadcast_recipients", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_broadcast_recipients_broadcast_id"), ["broadcast_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_broadcast_recipients_message_id"), ["message_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_broadcast_recipients_office_id"), ["office_id"], unique=False)
        batch_op.create_index("ix_broadcast_recipients_status_due", ["status", "due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("broadcast_recipients", schema=None) as batch_op:
        batch_op.drop_index("ix_broadcast_recipients_status_due")
        batch_op.drop_index(batch_op.f("ix_broadcast_recipients_office_id"))
        batch_op.drop_index(batch_op.f("ix_broadcast_recipients_message_id"))
        batch_op.drop_index(batch_op.f("ix_broadcast_recipients_broadcast_id"))

    op.drop_table("broadcast_recipients")
    with op.batch_alter_table("auto_replies", schema=None) as batch_op:
        batch_op.drop_index("ix_auto_replies_patient_created")
        batch_op.drop_index(batch_op.f("ix_auto_replies_office_id"))
        batch_op.drop_index("ix_auto_replies_number_created")

    op.drop_table("auto_replies")
    with op.batch_alter_table("opening_hours", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opening_hours_office_id"))

    op.drop_table("opening_hours")
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_broadcasts_office_id"))

    op.drop_table("broadcasts")
    op.drop_table("after_hours_settings")
