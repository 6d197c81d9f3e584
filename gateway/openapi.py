"""`python -m gateway.openapi` prints the OpenAPI document the gateway serves (for docs/openapi/gateway.json)."""

from __future__ import annotations

import json
import sys

from gateway.app import create_app
from gateway.settings import GatewaySettings


def document() -> str:
    """The served OpenAPI document as stable, indented JSON."""
    return json.dumps(create_app(GatewaySettings()).openapi(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(document())
