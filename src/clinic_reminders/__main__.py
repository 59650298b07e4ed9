"""`python -m clinic_reminders` is the `reminders` command."""

from .cli import main

main()
