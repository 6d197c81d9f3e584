"""The GitHub workflow would pass on a fresh runner: it runs the same `make test` as .ci/run, as root on the
Debian the project is developed on, with every server and tool the tests start installed from Debian packages
(none as a service container: the tests start private servers of their own from the same binaries).
`make deploy-check` lints it (actionlint, the schema in .github/schemas); here, that those checks refuse a
broken workflow, so a green `make test` means they looked."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
SCHEMA = ROOT / ".github" / "schemas" / "github-workflow.json"
TOOLS = Path(sys.executable).parent

DEBIAN_PACKAGES = {
    "python3.11": "the Python the Makefile builds .venv with",
    "python3.11-venv": "python3.11 -m venv",
    "git": "a real clone for `make gen-check` (git diff)",
    "make": "make test",
    "npm": "buf, from package.json",
    "postgresql": "the shared server (devstack/infra.sh), initdb and pg_ctl for the private ones",
    "postgresql-client": "pg_basebackup for the streaming replica",
    "redis-server": "the shared Redis, the chaos suite's, the three nodes of the Redis Cluster",
    "rabbitmq-server": "the shared broker, the private node and the three-node cluster",
    "util-linux": "runuser (private PostgreSQL as postgres) and setpriv (the cluster nodes die with the tests)",
    "chromium": "the console's browser tests",
    "chromium-driver": "Selenium's driver for chromium",
    "docker-compose": "`make deploy-check` validates the compose file",
}
"""What the tests and `make test` run, by the Debian package that brings it."""


def workflow() -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text())
    return loaded


def steps() -> list[dict[str, Any]]:
    return [step for job in workflow()["jobs"].values() for step in job["steps"]]


def installed_packages() -> set[str]:
    """The packages the workflow's ``apt-get install`` lines name."""
    script = "\n".join(step.get("run", "") for step in steps()).replace("\\\n", " ")
    names: set[str] = set()
    for line in re.findall(r"apt-get install ([^\n]*)", script):
        names.update(word for word in line.split() if not word.startswith("-"))
    return names


def test_it_runs_what_ci_runs_and_ci_runs_make_test() -> None:
    assert any(re.search(r"(^|\s)bash \.ci/run\b", step.get("run", "")) for step in steps())
    assert "make test" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("package", sorted(DEBIAN_PACKAGES))
def test_every_server_and_tool_the_tests_start_is_installed(package: str) -> None:
    assert package in installed_packages(), f"{package} ({DEBIAN_PACKAGES[package]}) is not installed"


def test_it_runs_as_root_on_debian_and_starts_no_service_container() -> None:
    [job] = workflow()["jobs"].values()
    assert str(job["container"]["image"]).startswith("debian:bookworm")
    assert "services" not in job  # make test starts the shared servers (devstack/infra.sh), the tests the rest
    assert "--user" not in str(job["container"].get("options", ""))


def test_kubectl_is_set_up_before_the_tests() -> None:
    uses = [str(step.get("uses", "")) for step in steps()]
    assert any(use.startswith("azure/setup-kubectl@") for use in uses)  # tests/unit/deploy/test_kubernetes.py


@pytest.mark.parametrize(
    ("mistake", "caught_by"),
    [
        ({"runs-on": "ubuntu-latest", "steps": [{"run": "echo ${{ matrix.missing }}"}]}, "actionlint"),
        ({"runs-on": "ubuntu-latest", "timeout-minute": 5, "steps": [{"run": "true"}]}, "check-jsonschema"),
    ],
)
def test_the_checks_of_make_deploy_check_refuse_a_broken_workflow(
    tmp_path: Path, mistake: dict[str, Any], caught_by: str
) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(yaml.safe_dump({"name": "broken", "on": "push", "jobs": {"test": mistake}}))
    command = {
        "actionlint": [str(TOOLS / "actionlint"), str(broken)],
        "check-jsonschema": [str(TOOLS / "check-jsonschema"), "--schemafile", str(SCHEMA), str(broken)],
    }[caught_by]
    checked = subprocess.run(command, capture_output=True, text=True, check=False)
    assert checked.returncode != 0, checked.stdout + checked.stderr
