"""No-show follow-ups and recall as the API reads and writes them: the office's settings, its recall intervals,
and a patient's recall due date from the practice-management system."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from ....followup.config import LIMITS, MONTHS
from ....models import AppointmentKind
from .common import ReadSchema, Schema

_DELAY, _TEXTS, _SPACING = LIMITS["noshow_delay_minutes"], LIMITS["recall_texts"], LIMITS["recall_spacing_days"]
_TEMPLATES = (
    "By language (en, es): the office's own text, with {clinic} and {phone}; it must say how to opt out (STOP) and "
    'fit one segment. "" goes back to the default; a language left out keeps what is saved.'
)


class FollowupSettingsWrite(Schema):
    noshow_enabled: bool = False
    noshow_delay_minutes: int = Field(120, ge=_DELAY[0], le=_DELAY[1], description="After the no-show is marked.")
    recall_enabled: bool = False
    recall_texts: int = Field(3, ge=_TEXTS[0], le=_TEXTS[1], description="At most this many texts per due date.")
    recall_spacing_days: int = Field(14, ge=_SPACING[0], le=_SPACING[1], description="Days between them.")
    noshow_templates: dict[str, str] = Field(default_factory=dict, description=_TEMPLATES)
    recall_templates: dict[str, str] = Field(default_factory=dict, description=_TEMPLATES)


class FollowupSettingsRead(ReadSchema):
    noshow_enabled: bool
    noshow_delay_minutes: int
    recall_enabled: bool
    recall_texts: int
    recall_spacing_days: int
    noshow_templates: dict[str, str]
    recall_templates: dict[str, str]


class RecallIntervalCreate(Schema):
    name: str = Field(min_length=1, max_length=60, examples=["Check-up"])
    months: int = Field(ge=MONTHS[0], le=MONTHS[1], examples=[12])
    matches: str = Field("", max_length=100, description="Visits whose reason contains this; empty: any visit.")
    kind: AppointmentKind | None = Field(None, description="Visits of this kind only; null: either.")


class RecallIntervalRead(ReadSchema):
    id: int
    name: str
    months: int
    matches: str
    kind: str | None


class RecallDueWrite(Schema):
    due_on: date | None = Field(description="The recall due date the practice-management system gives; null clears.")
