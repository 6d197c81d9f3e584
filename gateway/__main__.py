"""`python -m gateway` serves; `python -m gateway migrate` creates and migrates its database."""

from common.cli import not_yet, service_main
from gateway.settings import GatewaySettings

service_main("gateway", GatewaySettings, serve=not_yet, migrations="gateway:migrations")
