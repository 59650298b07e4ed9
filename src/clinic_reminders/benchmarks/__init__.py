"""`reminders bench ...`: scripts that measure and print, each against a baseline measured in the same run."""
