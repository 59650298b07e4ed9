"""Finding patients by what staff type: words of the name or (part of) a phone number. The JSON API's `?q=` and
every search box of the staff pages use `patient_search`."""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, and_, false, or_

from .models import Patient, PatientPhone
from .phones import InvalidPhoneNumber, to_e164
from .search_text import fold


def patient_search(q: str) -> ColumnElement[bool]:
    """Every word is in the first or last name, ignoring case and accents ("jose" finds "José"), or the text is
    (part of) one of the patient's numbers."""
    words = fold(q).split()
    by_name = and_(*(Patient.search_name.contains(w, autoescape=True) for w in words)) if words else false()
    digits = re.sub(r"\D", "", q)
    if len(digits) < 4:
        return by_name
    try:
        by_phone = Patient.phones.any(PatientPhone.number == to_e164(q))
    except InvalidPhoneNumber:
        by_phone = Patient.phones.any(PatientPhone.number.contains(digits, autoescape=True))
    return or_(by_name, by_phone)
