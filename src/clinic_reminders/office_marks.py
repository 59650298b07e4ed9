"""What one process notes of an office that every replica must know (`models.OfficeMark`): an admin alert's last
sending, taken by one replica at a time (`claim`), and the set-up doctor's last signed test webhook (`note`,
`read`). Several web replicas then alert once between them, and any replica's set-up page shows the ping another
replica received."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .db import upsert
from .models import OfficeMark

_TABLE: Any = OfficeMark.__table__


def note(db: Session, office_id: int, name: str, at: datetime, detail: str | None = None) -> None:
    """Sets the mark, whoever set it before."""
    statement = upsert(db, _TABLE).values(office_id=office_id, name=name, at=at, detail=detail)
    replace = {"at": statement.excluded.at, "detail": statement.excluded.detail}
    db.execute(statement.on_conflict_do_update(index_elements=["office_id", "name"], set_=replace))


def read(db: Session, office_id: int, name: str) -> OfficeMark | None:
    return db.scalar(select(OfficeMark).where(OfficeMark.office_id == office_id, OfficeMark.name == name))


def claim(db: Session, office_id: int, name: str, now: datetime, every: timedelta) -> bool:
    """Sets the mark to `now` when it is missing or at least `every` old; True for the one caller that did (the
    database decides between replicas: the row's key and a conditional update)."""
    statement = upsert(db, _TABLE).values(office_id=office_id, name=name, at=now)
    taken = db.execute(
        statement.on_conflict_do_update(
            index_elements=["office_id", "name"],
            set_={"at": statement.excluded.at},
            where=OfficeMark.at <= now - every,
        ).returning(OfficeMark.name)
    ).first()
    return taken is not None


def give_back(db: Session, office_id: int, name: str, at: datetime) -> None:
    """Undoes a `claim` made at `at` (what it was for did not happen): the next caller may claim at once."""
    mark = (OfficeMark.office_id == office_id, OfficeMark.name == name, OfficeMark.at == at)
    db.execute(delete(OfficeMark).where(*mark))
