"""``python -m push_worker``: consume ``push.queue`` and serve the HTTP side (port 8081: /health, /ready,
/metrics) in one process. No ``migrate`` here: the gateway owns the notifications database."""

from common.cli import service_main
from delivery.service import run_worker
from push_worker.deliverer import PushDeliverer
from push_worker.settings import PushWorkerSettings


def serve(settings: PushWorkerSettings) -> None:
    """Run the push worker until SIGTERM."""
    run_worker(settings, PushDeliverer.from_settings(settings), service="push_worker")


if __name__ == "__main__":
    service_main("push_worker", PushWorkerSettings, serve=serve)
