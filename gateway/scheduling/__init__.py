"""Scheduled sends (docs/design.md §7 "Later and many"): when a notification is due (``send_at``, quiet
hours), and the scheduler loop that publishes ``scheduled`` rows once they are."""
