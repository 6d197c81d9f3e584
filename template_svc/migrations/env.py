"""Alembic environment of the `templates` database."""

from common.migrations import run_env
from template_svc.tables import metadata

run_env(metadata)
