"""What A2P 10DLC registration costs, as Twilio's own pages quote it; never our estimate.

The figures are Twilio's "A2P 10DLC Campaign Vetting FAQ" (support.twilio.com/hc/en-us/articles/11587910480155):
brand registration $4 one time, secondary vetting $40 one time (Standard brands only), campaign verification $15
one time, a monthly campaign fee of $1.50 to $10 depending on the use case. Twilio changes them: the current list is
its "What pricing and fees are associated with the A2P 10DLC service?" (help.twilio.com/articles/1260803965530), and
the confirmation says so. The toll-free verification is not charged as a registration step.
"""

from __future__ import annotations

from dataclasses import dataclass

SOURCE = "Twilio's A2P 10DLC Campaign Vetting FAQ (support.twilio.com/hc/en-us/articles/11587910480155)"
CURRENT = "help.twilio.com/articles/1260803965530"


@dataclass(frozen=True)
class Fee:
    what: str
    amount: str  # as Twilio writes it


BRAND = Fee("brand registration, one time", "$4")
SECONDARY_VETTING = Fee("secondary vetting of a Standard brand, one time", "$40")
CAMPAIGN_VERIFICATION = Fee(
    "campaign verification, one time (charged again if a rejected campaign is resubmitted)", "$15"
)
CAMPAIGN_MONTHLY = Fee(
    "campaign fee, every month while the campaign is active", "$1.50 to $10 depending on the use case"
)


def a2p_fees(*, low_volume: bool) -> list[Fee]:
    """The fees that `--register` commits the office to: the brand now, the campaign once the brand is approved
    (submitted by itself then, under the same confirmation)."""
    fees = [BRAND] if low_volume else [BRAND, SECONDARY_VETTING]
    return [*fees, CAMPAIGN_VERIFICATION, CAMPAIGN_MONTHLY]


def described(fees: list[Fee]) -> str:
    listed = "; ".join(f"{fee.what}: {fee.amount}" for fee in fees)
    return f"{listed} (per {SOURCE}; the current figures are at {CURRENT})"
