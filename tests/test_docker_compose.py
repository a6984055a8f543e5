"""The production deployment files in docker/: compose model, Dockerfile, entrypoint, probes.

No Docker engine runs on these machines, but `docker compose config` (or Debian's
`docker-compose` 1.29, installed by scripts/install-system-deps.sh) resolves and validates the
compose file without one: the assertions below read that resolved model.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
DOCKER = REPO / "docker"
APP_SERVICES = {
    "migrate",
    "api",
    "worker-engine",
    "worker-signing",
    "worker-connectors",
    "worker-audits",
    "beat",
}
DATA_SERVICES = {"postgres", "redis", "minio"}
ALL_SERVICES = APP_SERVICES | DATA_SERVICES | {"proxy", "minio-setup"}
QUEUES = {"engine", "signing", "sealing", "connectors", "audits"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|_PIN|ACCESS_KEY|PASSPHRASE", re.IGNORECASE)


# ---------------------------------------------------------------- compose CLI and model


def _works(cmd: list[str]) -> bool:
    if shutil.which(cmd[0]) is None:
        return False
    done = subprocess.run([*cmd, "version"], capture_output=True, timeout=60, check=False)
    return done.returncode == 0


def _compose_cli() -> list[str]:
    """`docker compose` (v2 plugin) when present, else `docker-compose`; installed if missing."""
    for attempt in range(2):
        for cmd in (["docker", "compose"], ["docker-compose"]):
            if _works(cmd):
                return cmd
        if attempt == 0:
            subprocess.run(
                ["bash", str(REPO / "scripts" / "install-system-deps.sh")], check=True, timeout=600
            )
    pytest.fail("no compose CLI: scripts/install-system-deps.sh should install docker-compose")


@pytest.fixture(scope="module")
def secrets_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("deploy") / "secrets"
    subprocess.run(
        ["sh", str(DOCKER / "init-secrets.sh"), str(target)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return target


@pytest.fixture(scope="module")
def compose_output(secrets_dir: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    env.update(SECRETS_DIR=str(secrets_dir), DEMATFLOW_ENV_FILE="app.env.example")
    cmd = [*_compose_cli(), "--env-file", "env.example", "-f", "compose.yaml", "config"]
    done = subprocess.run(
        cmd, cwd=DOCKER, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"{shlex.join(cmd)} failed:\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def model(compose_output: str) -> dict[str, Any]:
    loaded = yaml.safe_load(compose_output)
    assert isinstance(loaded, dict)
    return loaded


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def _secret_names(service: dict[str, Any]) -> set[str]:
    return {s if isinstance(s, str) else s["source"] for s in service.get("secrets", [])}


def _depends(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in deps.items()}


def _networks(service: dict[str, Any]) -> set[str]:
    return set(service.get("networks") or {"default"})


def test_every_service_is_defined(model: dict[str, Any]) -> None:
    assert set(model["services"]) == ALL_SERVICES


def test_each_queue_has_exactly_one_worker_service(model: dict[str, Any]) -> None:
    seen: list[str] = []
    for name, service in model["services"].items():
        command = [str(part) for part in service.get("command") or []]
        if command[:2] == ["dematflow", "worker"]:
            assert name.startswith("worker-")
            seen += command[command.index("--queues") + 1].split(",")
    assert sorted(seen) == sorted(QUEUES)


def test_roles_are_chosen_by_command_on_one_image(model: dict[str, Any]) -> None:
    services = model["services"]
    images = {services[name]["image"] for name in APP_SERVICES}
    assert images == {"registry.example.fr/dematflow:0.1.0"}
    assert services["migrate"]["command"] == ["dematflow", "db", "upgrade"]
    assert services["beat"]["command"] == ["dematflow", "beat"]
    assert services["api"]["command"][:2] == ["dematflow", "web"]
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1


def test_migrations_run_once_before_the_application(model: dict[str, Any]) -> None:
    services = model["services"]
    assert services["migrate"]["restart"] == "no"
    assert _depends(services["migrate"]) == {"postgres": "service_healthy"}
    for name in APP_SERVICES - {"migrate"}:
        deps = _depends(services[name])
        assert deps["migrate"] == "service_completed_successfully", name
        assert {deps[d] for d in DATA_SERVICES} == {"service_healthy"}, name
    assert _depends(services["proxy"]) == {"api": "service_healthy"}


def test_long_running_services_have_healthchecks_limits_and_restart(
    model: dict[str, Any],
) -> None:
    for name, service in model["services"].items():
        limits = service.get("deploy", {}).get("resources", {}).get("limits", {})
        if name in {"migrate", "minio-setup"}:  # one-shot jobs
            continue
        check = service.get("healthcheck", {})
        assert not check.get("disable") and check.get("test") not in (None, ["NONE"]), name
        assert service["restart"] in {"unless-stopped", "always"}, name
        assert limits.get("memory") and limits.get("cpus"), name


def test_data_services_are_private(model: dict[str, Any]) -> None:
    services, networks = model["services"], model["networks"]
    published = {name for name, s in services.items() if s.get("ports")}
    assert published == {"proxy"}
    assert {str(p["target"]) for p in services["proxy"]["ports"]} == {"80", "443"}
    for name in DATA_SERVICES:
        assert _networks(services[name]) == {"backend"}, name
        assert not services[name].get("expose"), name
    assert networks["backend"].get("internal") is True
    assert _networks(services["proxy"]) == {"edge"}


def test_no_secret_value_inline(
    model: dict[str, Any], compose_output: str, secrets_dir: Path
) -> None:
    for path in secrets_dir.iterdir():
        value = path.read_text().strip()
        if value:
            assert value not in compose_output, f"{path.name} leaked into the compose model"
    assert not re.search(r"://[^/\s:@]*:[^/\s@]+@", compose_output), "credentials in a URL"
    for name, service in model["services"].items():
        for key, value in _env(service).items():
            if SECRET_NAME.search(key) and not key.endswith("_FILE"):
                pytest.fail(f"{name}: {key} holds a secret value; use {key}_FILE")
            if key.endswith("_FILE") and value.startswith("/run/secrets/"):
                secret = value.removeprefix("/run/secrets/")
                assert secret in _secret_names(service), f"{name}: {key} needs secret {secret}"
    assert set(model["secrets"]) == {p.name for p in secrets_dir.iterdir()}
    for spec in model["secrets"].values():
        assert set(spec) <= {"file", "name"} and Path(spec["file"]).parent == secrets_dir


def test_minio_and_postgres_take_their_credentials_from_secret_files(
    model: dict[str, Any],
) -> None:
    minio, postgres = model["services"]["minio"], model["services"]["postgres"]
    env = _env(minio)
    assert {env["MINIO_ROOT_USER_FILE"], env["MINIO_ROOT_PASSWORD_FILE"]} == _secret_names(minio)
    assert _env(postgres)["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    app_env = _env(model["services"]["api"])
    assert not re.search(r"//[^/@]*:[^/@]*@", app_env["DEMATFLOW_DATABASE_URL"])
    assert app_env["PGPASSWORD_FILE"] == "/run/secrets/postgres_password"


def test_images_are_pinned(model: dict[str, Any]) -> None:
    for name, service in model["services"].items():
        image = service["image"]
        tag = image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else "latest"
        assert tag != "latest" and re.search(r"\d", tag), f"{name}: {image} is not pinned"


# ---------------------------------------------------------------- Dockerfile (parser level)


def _instructions(path: Path) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def test_dockerfile_is_multi_stage_non_root_with_healthcheck() -> None:
    instructions = _instructions(DOCKER / "Dockerfile")
    args = dict(rest.split("=", 1) for kw, rest in instructions if kw == "ARG" and "=" in rest)
    froms = [rest for kw, rest in instructions if kw == "FROM"]
    assert len(froms) >= 2
    for line in froms:
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], line.split()[0])
        assert "@sha256:" in image or re.search(r":[^:]*\d[^:]*$", image), image
        assert not image.endswith(":latest"), image
    final = instructions[max(i for i, (kw, _) in enumerate(instructions) if kw == "FROM") :]
    users = [rest for kw, rest in final if kw == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert any(kw == "HEALTHCHECK" and "CMD" in rest for kw, rest in final)
    assert any(kw == "COPY" and rest.startswith("--from=build") for kw, rest in final)
    assert any(kw == "ENTRYPOINT" for kw, _ in final) and any(kw == "CMD" for kw, _ in final)


def test_dockerfile_copies_no_secret_and_only_existing_sources() -> None:
    instructions = _instructions(DOCKER / "Dockerfile")
    assert not [rest for kw, rest in instructions if kw == "ADD"]
    for kw, rest in instructions:
        if kw in {"ENV", "ARG"}:
            for name in re.findall(r"(\w+)=", rest):
                assert not SECRET_NAME.search(name), f"{kw} {name}"
        if kw == "COPY" and "--from=" not in rest:
            sources = [p for p in rest.split() if not p.startswith("--")][:-1]
            for source in sources:
                assert not re.search(r"secret|\.env|\.pem|\.key", source), source
                assert (REPO / source).exists(), f"COPY {source}: no such path"
    ignored = (REPO / ".dockerignore").read_text().split()
    for pattern in ("docker/secrets", "docker/.env", "docker/app.env", ".venv", ".git"):
        assert pattern in ignored, pattern


# ---------------------------------------------------------------- init-secrets, entrypoint, probe


def test_init_secrets_makes_private_files_once(secrets_dir: Path) -> None:
    assert stat.S_IMODE(secrets_dir.stat().st_mode) == 0o700
    before = {p.name: p.read_text() for p in secrets_dir.iterdir()}
    redis_password = before["redis_password"]
    assert len(redis_password) >= 32 and redis_password.isalnum()
    assert before["broker_url"] == f"redis://:{redis_password}@redis:6379/0"
    assert before["pkcs11_pin"] == ""
    subprocess.run(
        ["sh", str(DOCKER / "init-secrets.sh"), str(secrets_dir)], check=True, capture_output=True
    )
    assert {p.name: p.read_text() for p in secrets_dir.iterdir()} == before
    assert {stat.S_IMODE(p.stat().st_mode) for p in secrets_dir.iterdir()} == {0o444}


def _entrypoint(env: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(DOCKER / "entrypoint.sh"), *command],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_entrypoint_turns_secret_files_into_variables(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("s3cr3t value\n")
    (tmp_path / "empty").write_text("")
    done = _entrypoint(
        {
            "DEMATFLOW_STORAGE__SECRET_KEY_FILE": str(tmp_path / "key"),
            "PGPASSWORD_FILE": str(tmp_path / "key"),
            "DEMATFLOW_PKI__PKCS11_PIN_FILE": str(tmp_path / "empty"),
        },
        "env",
    )
    assert done.returncode == 0, done.stderr
    env = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    assert env["DEMATFLOW_STORAGE__SECRET_KEY"] == "s3cr3t value"
    assert env["PGPASSWORD"] == "s3cr3t value"
    assert "DEMATFLOW_PKI__PKCS11_PIN" not in env
    assert not [k for k in env if k.endswith("_FILE")]
    assert "s3cr3t" not in done.stderr


def test_entrypoint_refuses_ambiguous_or_missing_secrets(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("x")
    both = _entrypoint(
        {"DEMATFLOW_SECRET_KEY": "y", "DEMATFLOW_SECRET_KEY_FILE": str(tmp_path / "key")}, "true"
    )
    assert both.returncode == 64 and "both set" in both.stderr
    missing = _entrypoint({"DEMATFLOW_SECRET_KEY_FILE": str(tmp_path / "nope")}, "true")
    assert missing.returncode == 64 and "no such file" in missing.stderr


def _probe(*args: str, env: dict[str, str] | None = None) -> int:
    done = subprocess.run(
        [str(REPO / ".venv" / "bin" / "python"), str(DOCKER / "healthcheck.py"), *args],
        env={"PATH": os.environ["PATH"], **(env or {})},
        capture_output=True,
        timeout=30,
        check=False,
    )
    return done.returncode


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/health/live" else 503)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_http_probe(health_server: str) -> None:
    assert _probe("http", f"{health_server}/health/live") == 0
    assert _probe("http", f"{health_server}/health/ready") == 1
    assert _probe("http", "http://127.0.0.1:1/health/live") == 1
    assert _probe("http", "http://example.org/health/live") == 2


@pytest.mark.integration
def test_broker_probe(redis_url: str, tmp_path: Path) -> None:
    (tmp_path / "broker_url").write_text(redis_url + "\n")
    assert _probe("broker", env={"DEMATFLOW_BROKER__URL_FILE": str(tmp_path / "broker_url")}) == 0
    assert _probe("broker", env={"DEMATFLOW_BROKER__URL": "redis://127.0.0.1:1/0"}) == 1
    assert _probe("broker") == 2
