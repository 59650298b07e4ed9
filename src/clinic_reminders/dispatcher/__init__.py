"""Dispatch: claim due reminders with a lease, re-check, record, send through Twilio, record the outcome.

The order of writes is what makes it exactly-once: the outbound message row is committed before Twilio is
called and the SID after, so a worker killed at any instant leaves either nothing (re-planned), or a message
without a SID that `reconcile` looks up at Twilio before anything is sent again.
"""
