"""Writes ``deploy/rabbitmq/definitions.json`` (loaded by the RabbitMQ container) from the topology in
``common.amqp.topology``, so the broker's definitions and the code can never disagree, with one broker user per
service, none of them an administrator. Each user's password comes from the environment
(``RABBITMQ_<SERVICE>_PASSWORD``); the committed file is made with the dev values of ``deploy/compose.dev.env``:

``set -a; . deploy/compose.dev.env; set +a; python -m devstack.rabbitmq_definitions > deploy/rabbitmq/definitions.json``
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
from collections.abc import Mapping
from typing import Any

from common.amqp.topology import EXCHANGES, queue_specs

SERVICE_USERS = {
    "gateway": "RABBITMQ_GATEWAY_PASSWORD",
    "user_svc": "RABBITMQ_USER_SVC_PASSWORD",
    "template_svc": "RABBITMQ_TEMPLATE_SVC_PASSWORD",
    "email_worker": "RABBITMQ_EMAIL_WORKER_PASSWORD",
    "push_worker": "RABBITMQ_PUSH_WORKER_PASSWORD",
}
"""Each service's broker user and the variable holding its password (the compose file reads the same ones)."""


def password_hash(user: str, password: str) -> str:
    """RabbitMQ's salted SHA-256 password hash, salted from the user name so the file is reproducible."""
    salt = hashlib.sha256(f"rabbitmq-user:{user}".encode()).digest()[:4]
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def definitions(passwords: Mapping[str, str], vhost: str = "/", queue_type: str = "quorum") -> dict[str, Any]:
    """The RabbitMQ definitions document for the topology on ``vhost``, with a user per service (``passwords``:
    user name -> password) that may use that vhost and nothing else: no tag, so no management access."""
    return {
        "vhosts": [{"name": vhost}],
        "users": [
            {
                "name": user,
                "password_hash": password_hash(user, passwords[user]),
                "hashing_algorithm": "rabbit_password_hashing_sha256",
                "tags": [],
            }
            for user in SERVICE_USERS
        ],
        "permissions": [
            {"user": user, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"} for user in SERVICE_USERS
        ],
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


def passwords_from_environment() -> dict[str, str]:
    """Each service user's password from its ``RABBITMQ_<SERVICE>_PASSWORD``; exits naming any that is unset."""
    missing = [variable for variable in SERVICE_USERS.values() if not os.environ.get(variable)]
    if missing:
        sys.exit(f"set {', '.join(missing)} (deploy/compose.dev.env has the dev values)")
    return {user: os.environ[variable] for user, variable in SERVICE_USERS.items()}


if __name__ == "__main__":
    print(json.dumps(definitions(passwords_from_environment()), indent=2))
