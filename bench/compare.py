"""The A/B phase (``--compare REF``): the gateway alone restarted from REF's tree or from the working tree, round
after round on one running stack, and what its rounds come to: each side's median and the working tree's change."""

from __future__ import annotations

from pathlib import Path
from statistics import median
from typing import Any

from bench.checkout import ROOT, python_path
from devstack.stack import Stack

SIDES = ("ref", "working")
"""A is REF, B the working tree."""

FIGURES = ("accepted_per_second", "gateway_cpu_us_per_send")


def schedule(rounds: int, sides: tuple[str, str] = SIDES) -> list[tuple[str, int]]:
    """(side, round) in run order, A B, B A, A B, ...: a round's first measurement fares better than its second
    whichever side it runs (bench/README.md), so each side leads every other round."""
    return [(side, number) for number in range(1, rounds + 1) for side in (sides if number % 2 else sides[::-1])]


async def restart_gateway(stack: Stack, tree: Path) -> None:
    """The gateway stopped and started from ``tree`` with the stack's environment and port; nothing else moves."""
    await stack.stop_service("gateway")
    environment = {} if tree == ROOT else {"PYTHONPATH": python_path(tree)}
    await stack.start_service("gateway", environment=environment, root=tree)


def round_figures(side: str, number: int, saturation: dict[str, Any]) -> dict[str, Any]:
    """One round: the saturation measurement with its side and number, and the gateway's CPU per send apart."""
    gateway_cpu = saturation["cpu_us_per_send"].get("gateway", 0.0)
    return {"side": side, "round": number, "gateway_cpu_us_per_send": gateway_cpu, **saturation}


def summary(
    rounds: list[dict[str, Any]], sides: tuple[str, str] = SIDES, figures: tuple[str, ...] = FIGURES
) -> dict[str, Any]:
    """Each side's median and range of every figure, and B's change against A in percent."""
    found_sides: dict[str, dict[str, dict[str, float]]] = {}
    for side in sides:
        values = {figure: [found[figure] for found in rounds if found["side"] == side] for figure in figures}
        found_sides[side] = {
            figure: {"median": median(found), "min": min(found), "max": max(found)} for figure, found in values.items()
        }
    a, b = ({figure: found_sides[side][figure]["median"] for figure in figures} for side in sides)
    return {
        "sides": found_sides,
        "difference_percent": {figure: (b[figure] / a[figure] - 1) * 100 if a[figure] else None for figure in figures},
    }
