"""Patients' side of the conversation: answers at /app_confirm, delivery callbacks, and staff texts."""
