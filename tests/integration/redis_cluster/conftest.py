"""The e2e hook that adds the end of every service's log to a failure of this package's stack test."""

from tests.e2e.conftest import pytest_runtest_makereport

__all__ = ["pytest_runtest_makereport"]
