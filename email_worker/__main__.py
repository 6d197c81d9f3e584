"""``python -m email_worker``: consume ``email.queue`` and serve the HTTP side (port 2525) in one process.
No ``migrate`` here: the gateway owns the notifications database."""

from common.cli import service_main
from delivery.service import run_worker
from email_worker.deliverer import EmailDeliverer
from email_worker.http import test_email_router
from email_worker.settings import EmailWorkerSettings
from email_worker.smtp import SmtpSender


def serve(settings: EmailWorkerSettings) -> None:
    """Run the email worker until SIGTERM."""
    sender = SmtpSender(settings)
    run_worker(
        settings,
        EmailDeliverer(sender, settings),
        service="email_worker",
        routers=[test_email_router(sender, settings)],
    )


if __name__ == "__main__":
    service_main("email_worker", EmailWorkerSettings, serve=serve)
