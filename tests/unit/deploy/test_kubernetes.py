"""deploy/k8s rendered with `kubectl kustomize` and checked offline: Kubernetes' own schemas strictly
(`kubernetes-validate --strict`, where a warning fails too), KEDA's resources against the schema carried in
deploy/k8s/schemas, and the rules of docs/operations.md "Kubernetes": every service of the Procfile runs,
with resources, probes, a disruption budget and secrets only by reference."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "deploy" / "k8s"
KEDA_SCHEMA = K8S / "schemas" / "keda.sh_v1alpha1.json"
TREES = ["base", "overlays/production"]
DEV_SINKS = {"smtp_sink", "smtp_sink_backup", "fcm_server", "webhook_receiver"}
WORKERS = {"email-worker", "push-worker", "webhook-worker"}
SECRET_NAME = re.compile(r"(KEY|KEYS|SECRET|PASSWORD|USERNAME|DATABASE_URL|RABBITMQ_URL|REDIS_URL|DSN)$")


@cache
def rendered(tree: str) -> tuple[dict[str, Any], ...]:
    """The documents `kubectl kustomize` renders for ``tree``."""
    output = subprocess.run(
        ["kubectl", "kustomize", str(K8S / tree)], check=True, capture_output=True, text=True
    ).stdout
    return tuple(document for document in yaml.safe_load_all(output) if document)


def of_kind(tree: str, kind: str) -> dict[str, dict[str, Any]]:
    return {document["metadata"]["name"]: document for document in rendered(tree) if document["kind"] == kind}


def containers(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    return list(deployment["spec"]["template"]["spec"]["containers"])


def keda_validator(kind: str) -> jsonschema.protocols.Validator:
    schema = json.loads(KEDA_SCHEMA.read_text())
    return jsonschema.Draft202012Validator({**schema, "$ref": f"#/$defs/{kind}"})


@pytest.mark.parametrize("tree", TREES)
def test_kubernetes_validate_strict_passes_without_a_warning(tree: str, tmp_path: Path) -> None:
    native = [document for document in rendered(tree) if not document["apiVersion"].startswith("keda.sh/")]
    manifest = tmp_path / "native.yaml"
    manifest.write_text(yaml.safe_dump_all(native))
    result = subprocess.run(
        [str(Path(sys.executable).parent / "kubernetes-validate"), "--strict", str(manifest)],
        capture_output=True,
        text=True,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert not re.search(r"^(WARN|ERROR)", output, re.M), output
    assert output.count("passed for resource") == len(native)


@pytest.mark.parametrize("tree", TREES)
def test_keda_resources_match_the_keda_schema(tree: str) -> None:
    keda = [document for document in rendered(tree) if document["apiVersion"].startswith("keda.sh/")]
    assert {document["kind"] for document in keda} == {"ScaledObject", "TriggerAuthentication"}
    for document in keda:
        keda_validator(document["kind"]).validate(document)


def test_the_keda_schema_refuses_an_unknown_field() -> None:
    scaled = dict(next(iter(of_kind("base", "ScaledObject").values())))
    scaled["spec"] = {**scaled["spec"], "minReplicas": 1}
    with pytest.raises(jsonschema.ValidationError, match="minReplicas"):
        keda_validator("ScaledObject").validate(scaled)


def test_every_service_of_the_procfile_has_a_deployment() -> None:
    lines = (ROOT / "deploy" / "Procfile").read_text().splitlines()
    modules = {line.split("python -m ")[1].strip() for line in lines if line and line.split(":")[0] not in DEV_SINKS}
    deployed = {containers(deployment)[0]["command"][-1] for deployment in of_kind("base", "Deployment").values()}
    assert modules == deployed


@pytest.mark.parametrize("tree", TREES)
def test_each_container_has_resources_and_a_local_readiness_probe(tree: str) -> None:
    for name, deployment in of_kind(tree, "Deployment").items():
        for container in containers(deployment):
            resources = container["resources"]
            assert {"cpu", "memory"} <= resources["requests"].keys() & resources["limits"].keys(), name
            readiness = " ".join(container["readinessProbe"]["exec"]["command"])
            assert "127.0.0.1:" in readiness, f"{name} asks readiness from outside the pod"
            liveness = container["livenessProbe"]
            assert liveness.get("httpGet", {}).get("path") == "/health" or "grpc" in liveness["exec"]["command"], name


def test_the_grpc_services_are_probed_with_grpc_health() -> None:
    deployments = of_kind("base", "Deployment")
    for name in ("user-svc", "template-svc"):
        container = containers(deployments[name])[0]
        for probe in ("livenessProbe", "readinessProbe"):
            assert container[probe]["exec"]["command"][3] == "grpc", (name, probe)


def test_every_deployment_has_a_disruption_budget() -> None:
    budgets = of_kind("base", "PodDisruptionBudget")
    for name, deployment in of_kind("base", "Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert name in budgets, name
        assert budgets[name]["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_workers_scale_on_their_backlog_and_loops_keep_a_replica() -> None:
    scaled = of_kind("base", "ScaledObject")
    assert {document["spec"]["scaleTargetRef"]["name"] for document in scaled.values()} == WORKERS
    assert all(document["spec"]["minReplicaCount"] >= 1 for document in scaled.values())
    queues = {
        name: trigger["metadata"].get("queueName")
        for name, document in scaled.items()
        for trigger in document["spec"]["triggers"]
    }
    assert queues["email-worker"] == "email.queue"
    assert queues["push-worker"] == "push.queue"
    gateway = of_kind("base", "HorizontalPodAutoscaler")["gateway"]
    assert gateway["spec"]["minReplicas"] >= 1  # the reconciler, scheduler and fan-out run in the gateway


@pytest.mark.parametrize("tree", TREES)
def test_secrets_are_referenced_never_inlined(tree: str) -> None:
    assert not of_kind(tree, "Secret")
    config = of_kind(tree, "ConfigMap")["notifications-config"]["data"]
    mounted = "/etc/notifications/"  # a path to a file of a mounted Secret, not the secret itself
    assert not [name for name, value in config.items() if SECRET_NAME.search(name) and not value.startswith(mounted)]
    for name, deployment in of_kind(tree, "Deployment").items():
        for container in containers(deployment):
            for variable in container.get("env", []):
                if SECRET_NAME.search(variable["name"]):
                    assert "secretKeyRef" in variable.get("valueFrom", {}), (name, variable["name"])


def test_a_job_runs_the_migrations_before_a_release() -> None:
    job = of_kind("base", "Job")["notifications-migrate"]
    command = " ".join(job["spec"]["template"]["spec"]["containers"][0]["command"])
    for service in ("user_svc", "template_svc", "gateway"):
        assert f"python -m {service} migrate" in command


def test_production_pins_its_image_and_namespace() -> None:
    documents = rendered("overlays/production")
    assert {document["metadata"].get("namespace") for document in documents} == {"notifications"}
    images = {
        container["image"]
        for deployment in of_kind("overlays/production", "Deployment").values()
        for container in containers(deployment)
    }
    assert len(images) == 1
    assert not images.pop().endswith(":latest")
