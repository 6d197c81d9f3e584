"""Alembic environment of the `templates` database."""

from common.migrations import run_env

run_env()
