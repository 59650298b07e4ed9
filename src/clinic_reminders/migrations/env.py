"""Alembic environment: runs migrations on the URL the caller configured (see migrations/__init__.py)."""

from __future__ import annotations

from alembic import context

from clinic_reminders.db import is_sqlite, make_engine
from clinic_reminders.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url, "sqlalchemy.url is set by clinic_reminders.migrations.alembic_config"

engine = make_engine(url)
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=is_sqlite(url),  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
