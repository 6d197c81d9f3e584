"""Alembic environment of the ``notifications`` database."""

from common.migrations import run_env
from common.notification_tables import metadata

run_env(metadata)
