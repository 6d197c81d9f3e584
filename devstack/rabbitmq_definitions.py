"""Writes ``deploy/rabbitmq/definitions.json`` (loaded by the RabbitMQ container) from the topology in
``common.amqp.topology``, so the broker's definitions and the code can never disagree.

``python -m devstack.rabbitmq_definitions > deploy/rabbitmq/definitions.json``
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from common.amqp.topology import EXCHANGES, queue_specs

COMPOSE_USER = "notifications"
"""The broker user of the container stack (password = user name: a dev stack, not production)."""


def password_hash(password: str, salt: bytes = b"dev!") -> str:
    """RabbitMQ's salted SHA-256 password hash (fixed salt, so the file is reproducible)."""
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def definitions(vhost: str = "/", queue_type: str = "quorum") -> dict[str, Any]:
    """The RabbitMQ definitions document for the topology on ``vhost``, with the stack's user."""
    return {
        "vhosts": [{"name": vhost}],
        "users": [
            {
                "name": COMPOSE_USER,
                "password_hash": password_hash(COMPOSE_USER),
                "hashing_algorithm": "rabbit_password_hashing_sha256",
                "tags": ["administrator"],
            }
        ],
        "permissions": [{"user": COMPOSE_USER, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"}],
        "exchanges": [
            {
                "name": name,
                "vhost": vhost,
                "type": str(kind.value),
                "durable": True,
                "auto_delete": False,
                "internal": False,
                "arguments": {},
            }
            for name, kind in EXCHANGES.items()
        ],
        "queues": [
            {
                "name": spec.name,
                "vhost": vhost,
                "durable": True,
                "auto_delete": False,
                "arguments": {"x-queue-type": queue_type, **spec.arguments},
            }
            for spec in queue_specs()
        ],
        "bindings": [
            {
                "source": exchange,
                "vhost": vhost,
                "destination": spec.name,
                "destination_type": "queue",
                "routing_key": routing_key,
                "arguments": {},
            }
            for spec in queue_specs()
            for exchange, routing_key in spec.bindings
        ],
    }


if __name__ == "__main__":
    print(json.dumps(definitions(), indent=2))
