"""The inbound service: receives the mail that comes back (bounces at the VERP return path, feedback-loop
complaints at ``fbl@BOUNCE_DOMAIN``) over SMTP and records it (docs/design.md §7 "Mail that comes back")."""
