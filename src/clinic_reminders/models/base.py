"""Declarative base, naming convention for constraints, and a UTC datetime column type."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, MetaData, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; always returns an aware UTC datetime, on SQLite (which keeps no zone) as on PostgreSQL.

    On SQLite a value goes to and from the text SQLAlchemy's DateTime stores there in one step, without the
    generic chain of `process_*` and the DateTime's own processors: an import binds and reads millions of them,
    and the chain costs several times more."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(_NAIVE)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], Any] | None:
        return _to_sqlite_text if dialect.name == "sqlite" else super().bind_processor(dialect)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], datetime | None] | None:
        return _from_sqlite_text if dialect.name == "sqlite" else super().result_processor(dialect, coltype)


_NAIVE = "naive datetime given to a UTC column; attach a time zone first"
_SQLITE_TEXT = "%04d-%02d-%02d %02d:%02d:%02d.%06d"  # SQLAlchemy's storage format for DateTime on SQLite


def _to_sqlite_text(value: datetime | None) -> str | None:
    """Remembers the last few thousand instants: the rows of a batch repeat theirs (a reminder's creation time,
    its appointment's start, the same due time for a day's appointments)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(_NAIVE)
    utc = value.astimezone(UTC)  # the key: one instant is one text, whatever zone or fold it was given in
    text = _TEXTS.get(utc)
    if text is None:
        if len(_TEXTS) >= 4096:
            _TEXTS.clear()
        text = _TEXTS[utc] = _SQLITE_TEXT % (
            utc.year,
            utc.month,
            utc.day,
            utc.hour,
            utc.minute,
            utc.second,
            utc.microsecond,
        )
    return text


_TEXTS: dict[datetime, str] = {}


def _from_sqlite_text(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value + "+00:00")  # the text is UTC without an offset: say so, in C
    except ValueError:  # text written with an offset (by hand): as DateTime would read it, then to UTC
        parsed = datetime.fromisoformat(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class OfficeOwned:
    """Rows that belong to one office: a later multi-office deployment routes by this id."""

    office_id: Mapped[int] = mapped_column(Integer, ForeignKey("offices.id", ondelete="CASCADE"), index=True)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
