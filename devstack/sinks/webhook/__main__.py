"""``python -m devstack.sinks.webhook``: run the dev webhook receiver until SIGTERM or SIGINT.

Environment: ``BIND_HOST`` (127.0.0.1), ``WEBHOOK_RECEIVER_PORT`` (9098), ``WEBHOOK_RECEIVER_DIR``
(``.run/webhooks``), ``LOG_LEVEL`` (INFO).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import uvicorn

from devstack.sinks.webhook.app import create_app

DEFAULT_PORT = 9098


def main() -> None:
    """Serve the receiver configured by the environment."""
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO").upper(), format="%(levelname)s %(name)s %(message)s")
    host = os.environ.get("BIND_HOST", "127.0.0.1")
    port = int(os.environ.get("WEBHOOK_RECEIVER_PORT", str(DEFAULT_PORT)))
    directory = Path(os.environ.get("WEBHOOK_RECEIVER_DIR", ".run/webhooks"))
    app = create_app(directory)
    print(f"webhook receiver: deliveries to http://{host}:{port}/hooks/..., listed at /deliveries", flush=True)
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning", loop="uvloop", http="httptools")


if __name__ == "__main__":
    main()
