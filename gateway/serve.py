"""Running the gateway under uvicorn (uvloop, httptools), one or ``GATEWAY_WORKERS`` processes."""

from __future__ import annotations

import uvicorn

from gateway.app import create_app
from gateway.settings import GatewaySettings


def serve(settings: GatewaySettings) -> None:
    """Serve the REST API on ``BIND_HOST:GATEWAY_PORT`` until SIGTERM or SIGINT."""
    options = {
        "host": settings.bind_host,
        "port": settings.port,
        "loop": "uvloop",
        "http": "httptools",
        "access_log": False,
        "log_config": None,
        "server_header": False,
        "timeout_graceful_shutdown": 10,
    }
    if settings.workers > 1:
        uvicorn.run("gateway.app:create_app_from_environment", factory=True, workers=settings.workers, **options)  # type: ignore[arg-type]
    else:
        uvicorn.run(create_app(settings), **options)  # type: ignore[arg-type]
