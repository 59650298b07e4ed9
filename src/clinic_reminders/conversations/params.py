"""Numbers in Twilio's webhook parameters, read defensively: anything else is treated as not given.

The signature proves a request came from whoever holds the Auth Token, not that every field is well formed: a
`NumSegments=abc` or a 20-digit `ErrorCode` must not fail the whole webhook, nor reach an Integer column.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from ..db import INTEGER_MAX

PRICE_LIMIT = Decimal(10) ** 5  # messages.price is Numeric(10, 5)


def integer(value: str | None) -> int | None:
    """A count, code or id of ours: ASCII digits that fit an Integer column, else None."""
    if value is None or not value.isascii() or not value.isdigit():
        return None
    number = int(value)
    return number if number <= INTEGER_MAX else None


def price(value: str | None) -> Decimal | None:
    """What Twilio charged (it reports it negative), as a positive amount that fits the column, else None."""
    try:
        amount = abs(Decimal(value or ""))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and amount < PRICE_LIMIT else None


def currency(value: str | None) -> str | None:
    """An ISO 4217 code (USD), else None."""
    return value.upper() if value and len(value) == 3 and value.isascii() and value.isalpha() else None
