"""Running wrk with ``send.lua``: one thread (the box has two cores, and the stack needs them), a fixed number
of connections, a bounded duration. Returns the totals the script prints, and wrk's own CPU time."""

from __future__ import annotations

import asyncio
import json
import resource
import shutil
from pathlib import Path

from bench.environment import API_KEY

SCRIPT = Path(__file__).with_name("send.lua")


def available() -> bool:
    return shutil.which("wrk") is not None


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def run_wrk(
    url: str,
    users_file: Path,
    *,
    channel: str,
    run_id: str,
    seconds: float,
    connections: int = 48,
    threads: int = 1,
    api_key: str = API_KEY,
) -> dict[str, float]:
    """``wrk`` against ``url`` (a base URL; the script posts to ``/v1/notifications/send``) for ``seconds``.

    The result has the script's counts (``accepted`` = 202s), ``per_second`` (all answers) and
    ``accepted_per_second``, latency percentiles in ms, and ``wrk_cpu_seconds``.
    """
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(SCRIPT),
        url,
        "--",
        str(users_file),
        channel,
        run_id,
        api_key,
    ]
    cpu_before = _children_cpu()
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout=seconds + 60)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise RuntimeError(f"wrk did not finish within {seconds + 60:.0f}s") from None
    cpu = _children_cpu() - cpu_before
    text = output.decode(errors="replace")
    line = next((line for line in text.splitlines() if line.startswith("WRKJSON ")), None)
    if process.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{text}")
    found = json.loads(line.removeprefix("WRKJSON "))
    duration = found["duration_us"] / 1e6
    answered = found["accepted"] + found["refused"]
    return {
        "seconds": duration,
        "connections": connections,
        "requests": found["requests"],
        "accepted": found["accepted"],
        "refused": found["refused"],
        "errors": found["connect_errors"] + found["read_errors"] + found["write_errors"] + found["timeouts"],
        "per_second": answered / duration,
        "accepted_per_second": found["accepted"] / duration,
        "p50_ms": found["p50_us"] / 1000,
        "p90_ms": found["p90_us"] / 1000,
        "p99_ms": found["p99_us"] / 1000,
        "max_ms": found["max_us"] / 1000,
        "wrk_cpu_seconds": cpu,
    }
