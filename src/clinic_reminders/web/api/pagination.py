"""Limit/offset pagination: every list answers `{"items": [...], "total": n, "limit": l, "offset": o}`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ...db import INTEGER_MAX

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class PageParams(BaseModel):
    limit: int
    offset: int


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Rows per page.")] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=INTEGER_MAX, description="Rows to skip.")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]


def paginate(db: Session, stmt: Select[R], params: PageParams, to_read: Callable[[R], T]) -> Page[T]:
    """Counts the filtered rows, then fetches one page. `stmt` must already be ordered (stable pages)."""
    count_stmt: Select[Any] = select(func.count()).select_from(stmt.order_by(None).subquery())
    total = db.scalar(count_stmt) or 0
    rows: Sequence[R] = db.scalars(stmt.limit(params.limit).offset(params.offset)).all()
    return Page[T](items=[to_read(row) for row in rows], total=total, limit=params.limit, offset=params.offset)
