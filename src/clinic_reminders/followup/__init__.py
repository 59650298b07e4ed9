"""Texts that bring patients back beside reminders: one follow-up after a no-show, and recall for patients due.

- `config`: the office's settings (on, delay, N texts and their spacing, its own texts) and recall intervals.
- `noshows`: reads the events outbox (a cursor, like any consumer) and makes a follow-up per no-show; whether one
  still applies when due (not after the patient booked again).
- `recall`: who has come due (last visit plus an interval, or a date from the PMS); one series per due date.
- `texts`: what the patient reads, per language, and the answers to their reply.
- `answers`: a "1" or "3" to these texts (called by `conversations.inbound_sms`): the inbox, or the waitlist.
- `views`: the dashboard's counts.
- The sending side lives in the dispatcher, which runs it: `dispatcher.followup_sends` decides and writes each due
  text, `dispatcher.followup_round` sends them through `dispatcher.outreach` and settles texts a dead worker left.
"""
