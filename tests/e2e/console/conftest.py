"""The console's browser tests: one headless chromium for the module, signed in as the operator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from devstack.stack import Stack
from tests.e2e.console.browser import chromium


@pytest.fixture(scope="module")
def driver(stack: Stack) -> Iterator[WebDriver]:
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def console_url(stack: Stack) -> str:
    return stack.url("gateway") + "/console"
