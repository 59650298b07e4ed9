"""Liveness for load balancers and `make demo`: answers 200 when the database answers."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from .. import __version__
from .deps import DbDep

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
def healthz(db: DbDep) -> JSONResponse:
    try:
        db.execute(text("SELECT 1"))
    except Exception:
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "version": __version__})
