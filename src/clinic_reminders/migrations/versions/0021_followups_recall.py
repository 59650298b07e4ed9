"""followups: no-show follow-ups, recall intervals, series and their texts, due dates from the PMS, settings

Revision ID: 0021
Revises: 0018
Create Date: 2026-12-02 18:35:37.476790
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import clinic_reminders.models.base

revision = "0021"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "followup_settings",
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("noshow_enabled", sa.Boolean(), nullable=False),
        sa.Column("noshow_delay_minutes", sa.Integer(), nullable=False),
        sa.Column("recall_enabled", sa.Boolean(), nullable=False),
        sa.Column("recall_texts", sa.Integer(), nullable=False),
        sa.Column("recall_spacing_days", sa.Integer(), nullable=False),
        sa.Column("noshow_templates", sa.JSON(), nullable=False),
        sa.Column("recall_templates", sa.JSON(), nullable=False),
        sa.Column("events_from", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_cursor", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_followup_settings_office_id_offices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("office_id", name=op.f("pk_followup_settings")),
    )
    op.create_table(
        "recall_intervals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("matches", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=True),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("created_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_recall_intervals_office_id_offices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recall_intervals")),
        sa.UniqueConstraint("office_id", "name", name=op.f("uq_recall_intervals_office_id_name")),
    )
    with op.batch_alter_table("recall_intervals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recall_intervals_office_id"), ["office_id"], unique=False)

    op.create_table(
        "recall_due_dates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("created_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_recall_due_dates_office_id_offices"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_recall_due_dates_patient_id_patients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recall_due_dates")),
        sa.UniqueConstraint("patient_id", name=op.f("uq_recall_due_dates_patient_id")),
    )
    with op.batch_alter_table("recall_due_dates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recall_due_dates_office_id"), ["office_id"], unique=False)

    op.create_table(
        "recall_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("interval_id", sa.Integer(), nullable=True),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("texts_sent", sa.Integer(), nullable=False),
        sa.Column("next_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("booked_appointment_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("created_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["interval_id"],
            ["recall_intervals.id"],
            name=op.f("fk_recall_series_interval_id_recall_intervals"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_recall_series_office_id_offices"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_recall_series_patient_id_patients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recall_series")),
        sa.UniqueConstraint("patient_id", "key", name=op.f("uq_recall_series_patient_id_key")),
    )
    with op.batch_alter_table("recall_series", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recall_series_office_id"), ["office_id"], unique=False)
        batch_op.create_index("ix_recall_series_status_next", ["status", "next_at"], unique=False)

    op.create_table(
        "noshow_followups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("marked_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answer", sa.String(length=20), nullable=True),
        sa.Column("answered_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("created_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_noshow_followups_appointment_id_appointments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_noshow_followups_message_id_messages"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_noshow_followups_office_id_offices"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_noshow_followups_patient_id_patients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_noshow_followups")),
        sa.UniqueConstraint("event_id", name=op.f("uq_noshow_followups_event_id")),
    )
    with op.batch_alter_table("noshow_followups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_noshow_followups_message_id"), ["message_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_noshow_followups_office_id"), ["office_id"], unique=False)
        batch_op.create_index("ix_noshow_followups_patient", ["patient_id"], unique=False)
        batch_op.create_index("ix_noshow_followups_status_due", ["status", "due_at"], unique=False)

    op.create_table(
        "recall_texts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("created_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_recall_texts_message_id_messages"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_recall_texts_office_id_offices"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["recall_series.id"],
            name=op.f("fk_recall_texts_series_id_recall_series"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recall_texts")),
        sa.UniqueConstraint("series_id", "number", name=op.f("uq_recall_texts_series_id_number")),
    )
    with op.batch_alter_table("recall_texts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recall_texts_message_id"), ["message_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_recall_texts_office_id"), ["office_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("recall_texts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recall_texts_office_id"))
        batch_op.drop_index(batch_op.f("ix_recall_texts_message_id"))

    op.drop_table("recall_texts")
    with op.batch_alter_table("noshow_followups", schema=None) as batch_op:
        batch_op.drop_index("ix_noshow_followups_status_due")
        batch_op.drop_index("ix_noshow_followups_patient")
        batch_op.drop_index(batch_op.f("ix_noshow_followups_office_id"))
        batch_op.drop_index(batch_op.f("ix_noshow_followups_message_id"))

    op.drop_table("noshow_followups")
    with op.batch_alter_table("recall_series", schema=None) as batch_op:
        batch_op.drop_index("ix_recall_series_status_next")
        batch_op.drop_index(batch_op.f("ix_recall_series_office_id"))

    op.drop_table("recall_series")
    with op.batch_alter_table("recall_due_dates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recall_due_dates_office_id"))

    op.drop_table("recall_due_dates")
    with op.batch_alter_table("recall_intervals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recall_intervals_office_id"))

    op.drop_table("recall_intervals")
    op.drop_table("followup_settings")
