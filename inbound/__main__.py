"""``python -m inbound``: receive bounce and feedback-loop mail over SMTP (port 2526) and serve the HTTP side
(port 8083). No ``migrate`` here: the gateway owns the notifications database."""

from common.cli import service_main
from inbound.service import run
from inbound.settings import InboundSettings

if __name__ == "__main__":
    service_main("inbound", InboundSettings, serve=run)
