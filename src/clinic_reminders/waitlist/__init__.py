"""The waitlist: patients waiting for a time, the slots cancellations free, and the offers texted in waves.

- `entries`: joining and leaving (staff pages, the API, a patient's "3" answer); `config`: the office's settings.
- `freed`: reads the events outbox (a cursor, like any consumer) and turns cancellations into slots.
- `matching`: pure rules: whose wish a slot suits, who may be texted now, the cut-off, waves and expiry.
- The sending side lives in the dispatcher, which runs it: `dispatcher.waitlist_waves` picks each due wave's
  patients and writes their offers, `dispatcher.waitlist_round` is the round that sends them through
  `dispatcher.outreach`, expires what is over and settles texts a dead worker left behind (so that the answers,
  which `conversations` calls, never import the dispatcher).
- `answers`: a YES to an open offer books it through `booking`; `texts`: what the patient reads.
- `views`: what staff see (the schedule's freed slots, a patient's entries, the dashboard's counts).
"""
