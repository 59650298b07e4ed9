"""The set-up doctor: checks with stable ids and fix hints (`reminders doctor`), and provisioning
(`reminders setup twilio`) that does through Twilio's API what the seed's checklist asked a person to do."""

from .checks import Check, CheckResult, Outcome, Status
from .runner import ALL_CHECKS, Report, run_doctor

__all__ = ["ALL_CHECKS", "Check", "CheckResult", "Outcome", "Report", "Status", "run_doctor"]
