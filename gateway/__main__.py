"""`python -m gateway` serves; `python -m gateway migrate` creates and migrates its database, then copies
release 1's idempotency records in Redis to their release-2 names."""

from common.cli import service_main
from gateway.idempotency_migration import migrate_idempotency_records
from gateway.serve import serve
from gateway.settings import GatewaySettings

service_main(
    "gateway",
    GatewaySettings,
    serve=serve,
    migrations="gateway:migrations",
    migrate_more=lambda settings: migrate_idempotency_records(settings.redis_url),
)
