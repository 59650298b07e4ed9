"""After-hours auto-replies: a patient's text that reaches the inbox while the clinic is closed gets one "we are
closed, we will call you" at most every 12 hours. `hours` says whether a clinic is open (its opening hours, the
`holidays` library for the office's country and state, the office's own closed days), `config` keeps the
settings, and the dispatcher's `afterhours_round` reads the outbox and sends the replies; the text still
reaches the inbox as any other does."""
