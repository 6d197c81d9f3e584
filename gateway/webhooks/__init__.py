"""Webhook endpoints: their store and the checks of what a client registers (docs/api.md "Webhooks")."""
