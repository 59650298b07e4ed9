"""clinic-reminders: appointment reminders for medical offices, built on Twilio."""

__version__ = "0.1.0"
