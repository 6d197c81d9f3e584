"""``python -m email_worker``: consume ``email.queue`` and serve the HTTP side (port 2525) in one process.
No ``migrate`` here: the gateway owns the notifications database."""

from common.cli import service_main
from delivery.service import run_worker
from email_worker.deliverer import EmailDeliverer, dkim_keyring, relay_route
from email_worker.http import test_email_router
from email_worker.settings import EmailWorkerSettings


def serve(settings: EmailWorkerSettings) -> None:
    """Run the email worker until SIGTERM."""
    route = relay_route(settings)
    run_worker(
        settings,
        EmailDeliverer(route, settings, dkim_keyring(settings)),
        service="email_worker",
        routers=[test_email_router(route.links[0].sender, settings)],
    )


if __name__ == "__main__":
    service_main("email_worker", EmailWorkerSettings, serve=serve)
