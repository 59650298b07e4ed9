"""Twilio's webhooks: every request's X-Twilio-Signature is checked before anything else happens."""
