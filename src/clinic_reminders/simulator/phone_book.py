"""What the demo tells the phone page: whose each phone is, the clinic's clock, and where the page keeps what the
phones received across restarts of the demo (a JSON file under var/).

The simulator itself forgets everything when it stops, as a fresh Twilio account would; only the phone page's
view of the conversations is kept. Without a phone book (tests, `reminders simulator`) the page shows bare numbers
and UTC times and keeps nothing.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .state import Call, Message, Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    """A text or a call as a phone saw it, live or from an earlier run."""

    sid: str
    kind: str  # "message" or "call"
    to: str
    from_: str
    direction: str
    status: str
    at: datetime
    body: str = ""
    error_code: int | None = None
    heard: tuple[tuple[str, str], ...] = ()  # a call's transcript: ("say", text), ("pressed", digits)...

    def to_json(self) -> dict[str, Any]:
        return {
            "sid": self.sid,
            "kind": self.kind,
            "to": self.to,
            "from": self.from_,
            "direction": self.direction,
            "status": self.status,
            "at": self.at.isoformat(),
            "body": self.body,
            "error_code": self.error_code,
            "heard": [list(step) for step in self.heard],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Entry:
        return cls(
            sid=str(data["sid"]),
            kind=str(data["kind"]),
            to=str(data["to"]),
            from_=str(data["from"]),
            direction=str(data["direction"]),
            status=str(data["status"]),
            at=datetime.fromisoformat(str(data["at"])),
            body=str(data.get("body") or ""),
            error_code=int(data["error_code"]) if data.get("error_code") is not None else None,
            heard=tuple((str(k), str(v)) for k, v in data.get("heard") or ()),
        )


def message_entry(m: Message) -> Entry:
    return Entry(m.sid, "message", m.to, m.from_, m.direction, m.status, m.date_created, m.body, m.error_code)


def call_entry(c: Call) -> Entry:
    heard = tuple((kind, str(value)) for step in c.transcript for kind, value in step.items())
    return Entry(c.sid, "call", c.to, c.from_, c.direction, c.status, c.date_created, heard=heard)


@dataclass
class PhoneBook:
    names: Callable[[], Mapping[str, str]] = dict  # phone (E.164) -> the patient's name; may read a database
    zone: str = "UTC"  # the clinic's time zone, for the times shown
    history_file: Path | None = None
    earlier: dict[str, Entry] = field(default_factory=dict)  # from earlier runs, by SID

    def __post_init__(self) -> None:
        if self.history_file is None:
            return
        try:
            saved = json.loads(self.history_file.read_text())
            self.earlier = {e.sid: e for e in map(Entry.from_json, saved.get("entries", []))}
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("the phone page's history in %s could not be read; starting afresh", self.history_file)

    def entries(self, store: Store) -> list[Entry]:
        """Everything the phones saw, earlier runs first, in time order; live entries win over saved ones."""
        live = {m.sid: message_entry(m) for m in store.messages.values()}
        live.update({c.sid: call_entry(c) for c in store.calls.values()})
        return sorted({**self.earlier, **live}.values(), key=lambda e: e.at)

    def save(self, store: Store) -> None:
        """Writes the history (atomically: a demo stopped mid-write keeps the previous file)."""
        if self.history_file is None:
            return
        data = {"entries": [e.to_json() for e in self.entries(store)]}
        try:
            self.history_file.parent.mkdir(parents=True, exist_ok=True)
            partial = self.history_file.with_suffix(".tmp")
            partial.write_text(json.dumps(data))
            os.replace(partial, self.history_file)
        except OSError:
            log.warning("the phone page's history could not be written to %s", self.history_file)
