"""Broadcasts: "the office is closed on Friday" texted to the patients with visits at a clinic in a date range,
after a preview of how many and what it costs. `affected` finds them (the preview), `confirm` makes the broadcast
(visits flagged to reschedule, their reminders paused, one recipient row per patient), and the dispatcher's
`broadcast_round` texts them through `dispatcher.outreach`."""
