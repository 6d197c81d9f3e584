"""Another commit's tree for the A/B phase (``--compare REF``), extracted with ``git archive``: the repository
gains no worktree to prune when a run dies, and removing the folder removes every trace."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def resolve(ref: str) -> str:
    """The full commit id ``ref`` names in this repository; ``ValueError`` when it names none."""
    found = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if found.returncode != 0:
        raise ValueError(f"{ref!r} names no commit of {ROOT}")
    return found.stdout.strip()


def extract(commit: str, folder: Path) -> Path:
    """``commit``'s tracked files (``gen/`` included) in ``folder``, created here; returns it."""
    folder.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", commit], capture_output=True, cwd=ROOT, check=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, capture_output=True, check=True)
    return folder


def python_path(tree: Path) -> str:
    """The ``PYTHONPATH`` that imports ``tree``'s packages and its generated gRPC modules before the installed
    working tree's (the project is installed in editable mode, behind ``sys.path``)."""
    return os.pathsep.join((str(tree), str(tree / "gen")))
