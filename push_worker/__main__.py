"""``python -m push_worker``: consume ``push.queue`` and serve the HTTP side (port 8081: /health, /ready,
/metrics) in one process. No ``migrate`` here: the gateway owns the notifications database."""

from common.cli import service_main
from common.settings import ServiceSettings
from delivery.service import run_worker
from push_worker.deliverer import PushDeliverer
from push_worker.settings import PushWorkerSettings


def serve(settings: ServiceSettings) -> None:
    """Run the push worker until SIGTERM."""
    assert isinstance(settings, PushWorkerSettings)
    run_worker(settings, PushDeliverer.from_settings(settings), service="push_worker")


if __name__ == "__main__":
    service_main("push_worker", PushWorkerSettings, serve=serve)
