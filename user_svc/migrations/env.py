"""Alembic environment of the `users` database."""

from common.migrations import run_env

run_env()
