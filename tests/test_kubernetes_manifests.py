"""The Kubernetes manifests in docker/k8s/: valid against the Kubernetes API schemas (offline,
kubernetes-validate), and the same roles, commands, secrets and settings as docker/compose.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

from engine.bootstrap import build_operations
from engine.settings import Settings

REPO = Path(__file__).resolve().parents[1]
K8S = REPO / "docker" / "k8s"
KUBERNETES_VERSION = "1.33.0"
"""The oldest release the manifests target (autoscaling/v2, policy/v1, Pod Security labels)."""


def _documents() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        found += [(path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return found


def _kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for _, d in _documents() if d["kind"] == kind}


def _compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "docker" / "compose.yaml").read_text())  # type: ignore[no-any-return]


def _pod(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]  # type: ignore[no-any-return]


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present


@pytest.mark.parametrize(("name", "document"), _documents(), ids=lambda v: str(v)[:40])
def test_each_manifest_is_valid_for_kubernetes(name: str, document: dict[str, Any]) -> None:
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_an_invalid_manifest_is_refused() -> None:
    """The check above can fail: a misspelt field is refused."""
    deployment = dict(_kind("Deployment")["api"])
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_the_roles_of_compose_run_the_same_commands() -> None:
    services = _compose()["services"]
    workloads = {**_kind("Deployment"), "migrate": _kind("Job")["dematflow-migrate"]}
    for role in ("migrate", "api", "beat", *(s for s in services if s.startswith("worker-"))):
        command = services[role]["command"]
        [container] = _pod(workloads[role])["containers"]
        args = container["args"]
        assert args[:2] == command[:2], role
        if "--queues" in command:
            queues = command[command.index("--queues") + 1]
            assert args[args.index("--queues") + 1] == queues, role
    assert set(workloads) == {"migrate", "api", "beat"} | {
        s for s in services if s.startswith("worker-")
    }


def test_settings_and_secrets_match_compose() -> None:
    compose = _compose()
    config = _kind("ConfigMap")["dematflow-config"]["data"]
    app_env = compose["x-app-env"]
    assert set(app_env) <= set(config), "every setting compose gives the app"
    secret_files = {v.rsplit("/", 1)[-1] for k, v in config.items() if k.endswith("_FILE")}
    assert secret_files <= set(compose["secrets"]), "each *_FILE names a secret of compose"
    for key, value in config.items():
        assert not any(word in key for word in ("PASSWORD", "SECRET_KEY")) or key.endswith(
            "_FILE"
        ), f"{key}: a secret value in a ConfigMap"
        assert urlsplit(value).password is None, f"{key}: a password in a URL"


def test_every_pod_is_locked_down_and_only_the_api_holds_the_hold_identity() -> None:
    workloads = {**_kind("Deployment"), **_kind("Job")}
    for name, workload in workloads.items():
        pod = _pod(workload)
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == 10001, name
        assert pod["automountServiceAccountToken"] is False, name
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            assert "limits" in container["resources"], name
        secrets = {v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
        assert ("dematflow-holds" in secrets) == (name == "api"), name


def test_exactly_one_scheduler() -> None:
    beat = _kind("Deployment")["beat"]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"
    assert "beat" not in _kind("HorizontalPodAutoscaler")


def test_workers_scale_on_the_depth_of_queues_that_exist() -> None:
    queues = set(build_operations(Settings()).queues())
    deployments = _kind("Deployment")
    for name, hpa in _kind("HorizontalPodAutoscaler").items():
        assert hpa["spec"]["scaleTargetRef"]["name"] in deployments
        for metric in hpa["spec"]["metrics"]:
            if metric["type"] != "External":
                continue
            assert metric["external"]["metric"]["name"] == "dematflow_queue_depth"
            queue = metric["external"]["metric"]["selector"]["matchLabels"]["queue"]
            assert queue in queues, name
            [container] = _pod(deployments[name])["containers"]
            assert queue in container["args"][container["args"].index("--queues") + 1], name
