"""The command line every service shares: ``python -m <service>`` serves, ``python -m <service> migrate``
creates the service's database if it is missing and applies its migrations, then exits."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from common.log import configure_logging
from common.migrations import migrate
from common.settings import DatabaseServiceSettings, SettingsError, SettingsT, load_settings


def service_main(
    service: str,
    settings_class: type[SettingsT],
    *,
    serve: Callable[[SettingsT], None],
    migrations: str | None = None,
    migrate_more: Callable[[SettingsT], None] | None = None,
) -> None:
    """Parse the command line and run ``serve`` (with ``settings_class``'s settings, so it needs no cast) or,
    when ``migrations`` names the service's Alembic history (``user_svc:migrations``), ``migrate``: the
    database, then ``migrate_more`` for what the service keeps elsewhere (the gateway's Redis records)."""
    parser = argparse.ArgumentParser(prog=f"python -m {service}")
    commands = ["serve", "migrate"] if migrations else ["serve"]
    parser.add_argument("command", nargs="?", default="serve", choices=commands)
    args = parser.parse_args()
    try:
        settings = load_settings(settings_class)
    except SettingsError as error:
        print(f"{service}: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(service, settings.log_level)
    if args.command == "migrate":
        assert migrations is not None
        assert isinstance(settings, DatabaseServiceSettings)
        migrate(migrations, settings.database_url)
        if migrate_more is not None:
            migrate_more(settings)
        print(f"{service}: database migrated")
        return
    serve(settings)
