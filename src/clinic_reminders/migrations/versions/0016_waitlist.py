"""waitlist: entries, freed slots and the offers texted for them, and each office's waitlist settings

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-17 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import clinic_reminders.models.base

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "waitlist_settings",
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("wave_size", sa.Integer(), nullable=False),
        sa.Column("wave_minutes", sa.Integer(), nullable=False),
        sa.Column("cutoff_hours", sa.Integer(), nullable=False),
        sa.Column("offer_minutes", sa.Integer(), nullable=True),
        sa.Column("join_on_reschedule", sa.Boolean(), nullable=False),
        sa.Column("events_from", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_cursor", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_waitlist_settings_office_id_offices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("office_id", name=op.f("pk_waitlist_settings")),
    )
    op.create_table(
        "waitlist_slots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("starts_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("closes_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_wave_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("waves", sa.Integer(), nullable=False),
        sa.Column("filled_appointment_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("created_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_waitlist_slots_clinic_id_clinics"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_waitlist_slots_office_id_offices"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_waitlist_slots_provider_id_providers"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_slots")),
        sa.UniqueConstraint("event_id", name=op.f("uq_waitlist_slots_event_id")),
    )
    op.create_index("ix_waitlist_slots_appointment", "waitlist_slots", ["appointment_id"], unique=False)
    op.create_index(op.f("ix_waitlist_slots_office_id"), "waitlist_slots", ["office_id"], unique=False)
    op.create_index("ix_waitlist_slots_status_next_wave", "waitlist_slots", ["status", "next_wave_at"], unique=False)
    op.create_table(
        "waitlist_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=True),
        sa.Column("provider_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=True),
        sa.Column("earliest_date", sa.Date(), nullable=True),
        sa.Column("latest_date", sa.Date(), nullable=True),
        sa.Column("weekdays", sa.JSON(), nullable=False),
        sa.Column("day_starts", sa.Time(), nullable=True),
        sa.Column("day_ends", sa.Time(), nullable=True),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("booked_appointment_id", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("created_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_waitlist_entries_appointment_id_appointments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_waitlist_entries_clinic_id_clinics"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_waitlist_entries_office_id_offices"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_waitlist_entries_patient_id_patients"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_waitlist_entries_provider_id_providers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_entries")),
        sa.UniqueConstraint("event_id", name=op.f("uq_waitlist_entries_event_id")),
    )
    op.create_index(op.f("ix_waitlist_entries_office_id"), "waitlist_entries", ["office_id"], unique=False)
    op.create_index("ix_waitlist_entries_office_status", "waitlist_entries", ["office_id", "status"], unique=False)
    op.create_index(op.f("ix_waitlist_entries_patient_id"), "waitlist_entries", ["patient_id"], unique=False)
    op.create_table(
        "waitlist_offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("wave", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("expires_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("created_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", clinic_reminders.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["waitlist_entries.id"],
            name=op.f("fk_waitlist_offers_entry_id_waitlist_entries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_waitlist_offers_message_id_messages"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_waitlist_offers_office_id_offices"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_waitlist_offers_patient_id_patients"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["slot_id"],
            ["waitlist_slots.id"],
            name=op.f("fk_waitlist_offers_slot_id_waitlist_slots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_offers")),
        sa.UniqueConstraint("slot_id", "patient_id", name=op.f("uq_waitlist_offers_slot_id_patient_id")),
    )
    op.create_index(op.f("ix_waitlist_offers_entry_id"), "waitlist_offers", ["entry_id"], unique=False)
    op.create_index(op.f("ix_waitlist_offers_message_id"), "waitlist_offers", ["message_id"], unique=False)
    op.create_index(op.f("ix_waitlist_offers_office_id"), "waitlist_offers", ["office_id"], unique=False)
    op.create_index("ix_waitlist_offers_patient_created", "waitlist_offers", ["patient_id", "created_at"], unique=False)
    op.create_index("ix_waitlist_offers_status_expires", "waitlist_offers", ["status", "expires_at"], unique=False)
    op.create_index(
        "uq_waitlist_offers_accepted",
        "waitlist_offers",
        ["slot_id"],
        unique=True,
        sqlite_where=sa.text("status = 'accepted'"),
        postgresql_where=sa.text("status = 'accepted'"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_waitlist_offers_accepted",
        table_name="waitlist_offers",
        sqlite_where=sa.text("status = 'accepted'"),
        postgresql_where=sa.text("status = 'accepted'"),
    )
    op.drop_index("ix_waitlist_offers_status_expires", table_name="waitlist_offers")
    op.drop_index("ix_waitlist_offers_patient_created", table_name="waitlist_offers")
    op.drop_index(op.f("ix_waitlist_offers_office_id"), table_name="waitlist_offers")
    op.drop_index(op.f("ix_waitlist_offers_message_id"), table_name="waitlist_offers")
    op.drop_index(op.f("ix_waitlist_offers_entry_id"), table_name="waitlist_offers")
    op.drop_table("waitlist_offers")
    op.drop_index(op.f("ix_waitlist_entries_patient_id"), table_name="waitlist_entries")
    op.drop_index("ix_waitlist_entries_office_status", table_name="waitlist_entries")
    op.drop_index(op.f("ix_waitlist_entries_office_id"), table_name="waitlist_entries")
    op.drop_table("waitlist_entries")
    op.drop_index("ix_waitlist_slots_status_next_wave", table_name="waitlist_slots")
    op.drop_index(op.f("ix_waitlist_slots_office_id"), table_name="waitlist_slots")
    op.drop_index("ix_waitlist_slots_appointment", table_name="waitlist_slots")
    op.drop_table("waitlist_slots")
    op.drop_table("waitlist_settings")
