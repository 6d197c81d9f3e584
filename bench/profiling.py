"""Sampling profiles of running services with py-spy (``--nonblocking``: the process is never paused), kept
under ``bench/results/`` as collapsed stacks (``*.folded``, the input of any flame-graph tool), as an SVG
flame graph, and summarised as the functions with the most samples (self and total)."""

from __future__ import annotations

import asyncio
import html
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

RATE = 200
"""Samples a second."""
PY_SPY_MODE: tuple[str, ...] = ("--nonblocking",)
"""``--nonblocking`` never pauses the process (what the bench run uses); ``()`` pauses it for each sample, which
tells idle threads apart accurately (for a dedicated profiling run)."""


def available() -> bool:
    return shutil.which("py-spy") is not None


async def record(pids: list[int], seconds: float, folded: Path) -> Counter[str]:
    """Sample every pid for ``seconds``; the merged collapsed stacks (also written to ``folded``)."""
    outputs = [folded.with_suffix(f".{pid}.tmp") for pid in pids]
    processes = [
        await asyncio.create_subprocess_exec(
            "py-spy",
            "record",
            "--nonblocking",
            "-r",
            str(RATE),
            "-d",
            str(max(1, round(seconds))),
            "-f",
            "raw",
            "-o",
            str(output),
            "-p",
            str(pid),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for pid, output in zip(pids, outputs, strict=True)
    ]
    await asyncio.wait_for(asyncio.gather(*(process.wait() for process in processes)), seconds + 60)
    stacks: Counter[str] = Counter()
    for output in outputs:
        if output.exists():
            for line in output.read_text().splitlines():
                stack, _, count = line.rpartition(" ")
                if stack and count.isdigit():
                    stacks[stack] += int(count)
            output.unlink()
    text = "".join(f"{stack} {count}\n" for stack, count in stacks.most_common())
    await asyncio.to_thread(folded.write_text, text)
    return stacks


def _short(frame: str) -> str:
    """``function (path/to/module.py:12)`` → ``function (module.py)``."""
    name, _, where = frame.partition(" (")
    module = where.rsplit("/", 1)[-1].split(":")[0]
    return f"{name} ({module})" if module else name


def top_functions(stacks: Counter[str], count: int = 15) -> dict[str, Any]:
    """The functions with the most samples on top of the stack (self) and anywhere in it (total, leaving out
    the frames nearly every sample shares: the process's main and its event loop), in %."""
    total = sum(stacks.values()) or 1
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for stack, samples in stacks.items():
        frames = [_short(frame) for frame in stack.split(";")]
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    shown = [(f, n) for f, n in inclusive.most_common() if n < 0.75 * total]  # not the event loop's own frames
    return {
        "self": [{"function": f, "percent": round(100 * n / total, 1)} for f, n in own.most_common(count)],
        "total": [{"function": f, "percent": round(100 * n / total, 1)} for f, n in shown[:count]],
        "samples": total,
    }


def flame_graph(stacks: Counter[str], title: str, path: Path, width: int = 1600, row: int = 17) -> None:
    """Write an SVG flame graph of ``stacks`` (hover a frame for its name and share)."""
    tree: dict[str, Any] = {"n": 0, "c": {}}
    for stack, samples in stacks.items():
        node = tree
        node["n"] += samples
        for frame in stack.split(";"):
            node = node["c"].setdefault(frame, {"n": 0, "c": {}})
            node["n"] += samples
    total = tree["n"] or 1
    rects: list[str] = []
    depth_max = 0

    def walk(node: dict[str, Any], x: float, depth: int) -> None:
        nonlocal depth_max
        for name, child in sorted(node["c"].items()):
            w = child["n"] / total * width
            if w >= 0.3:
                depth_max = max(depth_max, depth)
                label = html.escape(_short(name))
                share = 100 * child["n"] / total
                hue = 20 + (hash(name.split(" (")[-1]) % 40)
                text = label if w > 40 else ""
                rects.append(
                    f"<g><title>{html.escape(name)} — {child['n']} samples, {share:.1f}%</title>"
                    f'<rect x="{x:.1f}" y="{{Y{depth}}}" width="{w:.1f}" height="{row - 1}" '
                    f'fill="hsl({hue},85%,60%)"/>'
                    f'<text x="{x + 3:.1f}" y="{{T{depth}}}" font-size="11" clip-path="inset(0)">'
                    f"{html.escape(text[: int(w / 6.5)])}</text></g>"
                )
                walk(child, x, depth + 1)
            x += w

    walk(tree, 0.0, 0)
    height = (depth_max + 3) * row
    body = "\n".join(rects)
    for depth in range(depth_max + 1):
        y = height - (depth + 2) * row
        body = body.replace(f"{{Y{depth}}}", str(y)).replace(f"{{T{depth}}}", str(y + row - 5))
    path.write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="monospace">'
        f'<text x="4" y="14" font-size="13">{html.escape(title)} ({total} samples at {RATE} Hz)</text>\n'
        f"{body}\n</svg>\n"
    )
