"""Taking the schedule from the practice-management system: CSV, HL7 v2 (SIU, ADT) and FHIR R4, one upsert path.

Each reader turns the file's bytes into plain records (`records`), rejecting what it cannot read (a file cut
short: `truncation`), and `upsert.run` writes them in batches, each record imported or rejected on its own,
through `booking` so that reminders follow.
"""

from __future__ import annotations

from collections.abc import Callable

from . import csv_file, fhir, hl7
from .records import Items

READERS: dict[str, Callable[[bytes, str], Items]] = {"csv": csv_file.read, "hl7": hl7.read, "fhir": fhir.read}
MAX_BYTES: dict[str, int] = {"fhir": fhir.MAX_BYTES}  # formats read as one document: past this, not even read
