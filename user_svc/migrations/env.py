"""Alembic environment of the `users` database."""

from common.migrations import run_env
from user_svc.tables import metadata

run_env(metadata)
