"""The web service: JSON API, Twilio webhooks, staff pages."""
