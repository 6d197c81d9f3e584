"""Topic sends (docs/design.md §7 "Later and many"): a ``broadcasts`` row per send, fanned out to the topic's
subscribers by a claimable job in every gateway replica, and its status, list and cancel."""
