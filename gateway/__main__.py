"""`python -m gateway` serves; `python -m gateway migrate` creates and migrates its database."""

from common.cli import service_main
from gateway.serve import serve
from gateway.settings import GatewaySettings

service_main("gateway", GatewaySettings, serve=serve, migrations="gateway:migrations")
