"""schemathesis over the whole gateway API, configured as its author runs it (``docs/openapi/schemathesis.toml``:
no 5xx, status codes, content types, headers and bodies as the OpenAPI document says), against the gateway
served over HTTP in front of a real user_svc and template_svc. Every phase runs: the documented examples, the
coverage phase's boundary values, random fuzzing, and stateful sequences along the links schemathesis infers
(create a user, then get, change, delete it...). Examples are bounded (50 per operation) so the run takes about half a
minute; the output names the seed, so a failure can be replayed (``--seed``)."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

from tests.fuzz.served import ServedGateway

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "docs" / "openapi" / "schemathesis.toml"
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "50"))
"""Examples per operation in the fuzzing phase; a deeper run: ``SCHEMATHESIS_MAX_EXAMPLES=1000``."""
TIMEOUT_SECONDS = float(os.environ.get("SCHEMATHESIS_TIMEOUT_SECONDS", "240"))
SCENARIOS = re.compile(r"Scenarios:\s+(\d+)")
SELECTED = re.compile(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)")


async def run_schemathesis(url: str, key: str, folder: Path) -> tuple[int, str]:
    """schemathesis's exit code and output, sending ``key`` (run in ``folder``, so its files stay out of the
    repository)."""
    process = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS),
        "--config-file",
        str(CONFIG),
        "run",
        f"{url}/openapi.json",
        "--header",
        f"X-API-Key: {key}",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--request-timeout",
        "10",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=folder,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), TIMEOUT_SECONDS)
    except TimeoutError:
        process.kill()
        output, _ = await process.communicate()
        return -1, output.decode(errors="replace") + f"\n(killed after {TIMEOUT_SECONDS:.0f}s)"
    return int(process.returncode or 0), output.decode(errors="replace")


async def test_no_operation_answers_5xx_or_off_schema(
    served: ServedGateway, schemathesis_key: str, tmp_path: Path
) -> None:
    code, output = await run_schemathesis(served.url, schemathesis_key, tmp_path)
    failures = output[output.find("FAILURES") :] if "FAILURES" in output else output[-6000:]
    assert code == 0, failures
    scenarios = SCENARIOS.search(output)
    assert scenarios is not None, output[-3000:]
    assert int(scenarios.group(1)) > 0, "the stateful phase ran no scenario: no links were found"
    selected = SELECTED.search(output)
    assert selected is not None, output[-3000:]
    assert selected.group(1) == selected.group(2) == selected.group(3), "not every operation was tested"
