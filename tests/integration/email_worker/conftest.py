"""Delivery fixtures: ``db``, ``gateway`` and ``sink``."""

from tests.integration.delivery.fixtures import db, gateway, sink

__all__ = ["db", "gateway", "sink"]
