"""``python -m webhook_worker``: expand the webhook outbox, send due deliveries and serve the HTTP side (port 8082).
No ``migrate`` here: the gateway owns the notifications database."""

from common.cli import service_main
from webhook_worker.service import run
from webhook_worker.settings import WebhookWorkerSettings

if __name__ == "__main__":
    service_main("webhook_worker", WebhookWorkerSettings, serve=run)
