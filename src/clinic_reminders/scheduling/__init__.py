"""Pure scheduling logic: rules to due times, quiet hours, time zones. No database, no I/O."""
