"""No-show follow-ups and recall: the office's settings and recall intervals (admins change them), and a
patient's recall due date as the practice-management system gives it. The dispatcher sends the texts."""

from __future__ import annotations

from fastapi import APIRouter, Response

from ...followup import config, recall
from ...models import Patient, RecallInterval
from ..deps import AdminUser, CurrentUser, DbDep, OfficeDep, audit_actor
from .errors import ADMIN_ONLY, NOT_FOUND
from .lookups import get_or_404
from .schemas.common import RowId
from .schemas.followups import (
    FollowupSettingsRead,
    FollowupSettingsWrite,
    RecallDueWrite,
    RecallIntervalCreate,
    RecallIntervalRead,
)

router = APIRouter(prefix="/followups", tags=["followups"])


@router.get("/settings", summary="No-show follow-up and recall settings")
def get_followup_settings(db: DbDep, office: OfficeDep, _user: CurrentUser) -> FollowupSettingsRead:
    return FollowupSettingsRead.model_validate(config.current(db, office))


@router.put("/settings", responses=ADMIN_ONLY, summary="Change the no-show follow-up and recall settings")
def change_followup_settings(
    body: FollowupSettingsWrite, db: DbDep, office: OfficeDep, user: AdminUser
) -> FollowupSettingsRead:
    row = config.change(db, office, config.Change(**body.model_dump()), audit_actor(user))
    db.commit()
    return FollowupSettingsRead.model_validate(row)


@router.get("/recall-intervals", summary="Recall intervals", description="By name.")
def list_recall_intervals(db: DbDep, office: OfficeDep, _user: CurrentUser) -> list[RecallIntervalRead]:
    return [RecallIntervalRead.model_validate(i) for i in config.intervals(db, office.id)]


@router.post("/recall-intervals", status_code=201, responses=ADMIN_ONLY, summary="Add a recall interval")
def add_recall_interval(
    body: RecallIntervalCreate, db: DbDep, office: OfficeDep, user: AdminUser
) -> RecallIntervalRead:
    kind = str(body.kind) if body.kind else None
    interval = config.add_interval(db, office, body.name, body.months, body.matches, kind, audit_actor(user))
    db.commit()
    return RecallIntervalRead.model_validate(interval)


@router.delete(
    "/recall-intervals/{interval_id}",
    status_code=204,
    responses={**ADMIN_ONLY, **NOT_FOUND},
    summary="Remove a recall interval",
    description="Series it started go on; it starts no new ones.",
)
def remove_recall_interval(interval_id: RowId, db: DbDep, office: OfficeDep, user: AdminUser) -> Response:
    interval = get_or_404(db, RecallInterval, interval_id, office, "recall interval")
    config.remove_interval(db, office, interval, audit_actor(user))
    db.commit()
    return Response(status_code=204)


@router.put("/recall-due/{patient_id}", status_code=204, responses=NOT_FOUND, summary="A patient's recall due date")
def set_recall_due(
    patient_id: RowId, body: RecallDueWrite, db: DbDep, office: OfficeDep, _user: CurrentUser
) -> Response:
    patient = get_or_404(db, Patient, patient_id, office, "patient")
    recall.set_due(db, office, patient.id, body.due_on)
    db.commit()
    return Response(status_code=204)
