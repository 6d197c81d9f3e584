"""Applications and their API keys: the unit of isolation and the credentials an operator issues and revokes
through the API (docs/design.md §7 Applications)."""
