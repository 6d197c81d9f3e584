"""The webhook relay (docs/design.md §7 "Events out"): expands the outbox the status writers fill into one delivery
per subscribed endpoint, then posts due deliveries, signed, on a retry ladder kept in PostgreSQL."""
