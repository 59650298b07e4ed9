"""patient search name

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from clinic_reminders.search_text import fold_name

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BATCH = 1_000

patients = sa.table(
    "patients",
    sa.column("id", sa.Integer()),
    sa.column("first_name", sa.String()),
    sa.column("last_name", sa.String()),
    sa.column("search_name", sa.Text()),
)


def upgrade() -> None:
    # SQLite adds a NOT NULL column only with a default, and cannot drop that default without copying the table
    # (which, with foreign_keys=ON, would cascade-delete every patient's phones and appointments). So SQLite keeps
    # the '' default; every insert through SQLAlchemy sets the column itself (Patient.search_name).
    op.add_column("patients", sa.Column("search_name", sa.Text(), nullable=False, server_default=""))
    _backfill()
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("patients", "search_name", server_default=None)


def _backfill() -> None:
    """Folds the existing names in Python (the databases cannot strip accents alike), BATCH rows at a time."""
    conn = op.get_bind()
    update = patients.update().where(patients.c.id == sa.bindparam("pid")).values(search_name=sa.bindparam("folded"))
    last_id = 0
    while True:
        rows = conn.execute(
            sa.select(patients.c.id, patients.c.first_name, patients.c.last_name)
            .where(patients.c.id > last_id)
            .order_by(patients.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        conn.execute(update, [{"pid": r.id, "folded": fold_name(r.first_name, r.last_name)} for r in rows])
        last_id = rows[-1].id


def downgrade() -> None:
    # Plain ALTER TABLE, not batch mode: a table copy on SQLite would cascade-delete the patients' rows elsewhere.
    op.drop_column("patients", "search_name")
