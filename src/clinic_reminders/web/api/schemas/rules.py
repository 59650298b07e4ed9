"""Reminder rules as the API shows and takes them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .common import LocalTime, ReadSchema, RowId, Schema

Kind = Literal["in-person", "telehealth"]
Condition = Literal["always", "unanswered", "unanswered-and-no-sms"]
ALL_KINDS: tuple[Kind, ...] = ("in-person", "telehealth")


class RuleFields(Schema):
    @model_validator(mode="after")
    def _one_kind_of_timing(self) -> RuleFields:
        days, at, minutes = (getattr(self, f, None) for f in ("days_before", "at_local_time", "minutes_before"))
        if "minutes_before" in self.model_fields_set or "days_before" in self.model_fields_set:
            clock = days is not None or at is not None
            if clock and minutes is not None:
                raise ValueError("give either days_before with at_local_time, or minutes_before, not both")
            if clock and (days is None or at is None):
                raise ValueError("days_before and at_local_time go together")
        return self


class RuleCreate(RuleFields):
    name: str = Field(min_length=1, max_length=100)
    channel: Literal["sms", "voice"]
    clinic_id: RowId | None = Field(default=None, description="Set: an override for one clinic of the rule's name.")
    days_before: int | None = Field(default=None, ge=0, le=60)
    at_local_time: LocalTime | None = Field(default=None, description="The clinic's local clock time, e.g. 10:00.")
    minutes_before: int | None = Field(default=None, ge=5, le=60 * 24 * 60)
    appointment_kinds: list[Kind] = Field(default_factory=lambda: list(ALL_KINDS), min_length=1)
    skip_if_confirmed: bool = True
    condition: Condition = "always"
    active: bool = True

    @model_validator(mode="after")
    def _timing_given(self) -> RuleCreate:
        if self.minutes_before is None and self.days_before is None:
            raise ValueError("say when: days_before with at_local_time, or minutes_before")
        return self


class RuleUpdate(RuleFields):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    channel: Literal["sms", "voice"] | None = None
    days_before: int | None = Field(default=None, ge=0, le=60)
    at_local_time: LocalTime | None = None
    minutes_before: int | None = Field(default=None, ge=5, le=60 * 24 * 60)
    appointment_kinds: list[Kind] | None = Field(default=None, min_length=1)
    skip_if_confirmed: bool | None = None
    condition: Condition | None = None
    active: bool | None = None


class RuleRead(ReadSchema):
    id: int
    name: str
    channel: str
    clinic_id: int | None
    days_before: int | None
    at_local_time: LocalTime | None
    minutes_before: int | None
    appointment_kinds: list[str]
    skip_if_confirmed: bool
    condition: str
    active: bool
