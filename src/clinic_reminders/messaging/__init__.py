"""Pure messaging logic: SMS segments and cost, reminder texts and TwiML, understanding patients' answers.

Nothing here touches the database or the network; callers pass plain values read from the models.
"""
