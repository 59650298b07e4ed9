"""US carrier registration: A2P 10DLC for local numbers, verification for toll-free numbers.

`states` maps Twilio's statuses to ours, `senders` decides whether texts from a number would be blocked (and
says why, for staff), `samples` writes the campaign's sample messages from the office's own templates.
"""
