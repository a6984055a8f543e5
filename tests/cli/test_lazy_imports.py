"""Start-up stays light: `--help` of every command, the web app module and the worker app module
load none of the heavy libraries; each is imported where it is used (no timing here: the figures
are `bench/bench_startup.py`'s)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

HEAVY = (
    "SpiffWorkflow",
    "alembic",
    "babel",
    "celery",
    "fontTools",
    "fpdf",
    "jsonschema",
    "lxml",
    "minio",
    "pikepdf",
    "pydantic",
    "pyhanko",
    "pyhanko_certvalidator",
    "sqlalchemy",
    "xmlschema",
)
"""Not one of these for `--help`: each costs tens to hundreds of milliseconds to import."""

_HELP_SCRIPT = """
import json, sys
import click
from click.testing import CliRunner
from engine.cli.main import cli

runner = CliRunner()
failed = []

def walk(group, path):
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        result = runner.invoke(cli, [*path, name, "--help"])
        if result.exit_code != 0 or "Usage:" not in result.output:
            failed.append(" ".join([*path, name]))
        if isinstance(command, click.Group):
            walk(command, [*path, name])

top = runner.invoke(cli, ["--help"])
if top.exit_code != 0:
    failed.append("--help")
walk(cli, [])
print(json.dumps({"failed": failed, "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def _loaded(script: str, *args: str, env: dict[str, str] | None = None) -> dict[str, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, list[str]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_every_help_loads_no_heavy_library() -> None:
    """`dematflow --help`, then `--help` of every command and subcommand, in one process."""
    result = _loaded(_HELP_SCRIPT)
    assert not result["failed"], result["failed"]
    heavy = sorted(set(HEAVY) & set(result["modules"]))
    assert not heavy, f"--help importe : {', '.join(heavy)}"


def test_web_and_worker_modules_load_only_what_readiness_needs() -> None:
    """Signing, PDF, SEDA and S3 libraries come with the first request or job that uses them."""
    later = ("pyhanko", "pikepdf", "fpdf", "fontTools", "xmlschema", "alembic")
    for module in ("web.app", "engine.worker.app"):
        script = (
            f"import json, sys, {module}\nprint(json.dumps({{'modules': sorted(sys.modules)}}))"
        )
        loaded = {m.split(".")[0] for m in _loaded(script)["modules"]}
        heavy = sorted(set(later) & loaded)
        assert not heavy, f"{module} importe au démarrage : {', '.join(heavy)}"
    script = (
        "import json, sys, engine.worker.app\nprint(json.dumps({'modules': sorted(sys.modules)}))"
    )
    loaded = {m.split(".")[0] for m in _loaded(script)["modules"]}
    assert not loaded & {"SpiffWorkflow", "minio", "lxml", "httpx"}, "le worker charge trop tôt"


JOB_MACHINERY = (
    "sqlalchemy",
    "engine.bootstrap",
    "engine.operations",
    "engine.persistence",
    "engine.services",
    "engine.worker.fair_share",
)
"""What a worker's first job imports (in the pool process that runs it), not its start."""

_WORKER_READY_SCRIPT = """
import json, os, sys
from celery.signals import worker_ready

def ready(**_kwargs):
    os.write(1, (json.dumps({"modules": sorted(sys.modules)}) + "\\n").encode())
    os._exit(0)

worker_ready.connect(ready, weak=False)
from engine.cli.main import main
sys.argv = ["dematflow", *sys.argv[1:]]
main()
"""


def test_worker_is_ready_without_the_job_machinery(tmp_path: Path) -> None:
    """The real `dematflow worker` (embedded file broker, JSON logs) until Celery's
    `worker_ready`: Celery, kombu and the settings only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEMATFLOW_")}
    env.update(DEMATFLOW_DATA_DIR=str(tmp_path), DEMATFLOW_SECRET_KEY=secrets.token_urlsafe(48))
    loaded = _loaded(_WORKER_READY_SCRIPT, "worker", "--concurrency", "1", "--quiet", env=env)[
        "modules"
    ]
    assert "celery.worker" in loaded
    early = sorted(m for m in loaded if any(m == h or m.startswith(f"{h}.") for h in JOB_MACHINERY))
    assert not early, f"le worker charge avant d'être prêt : {', '.join(early)}"


FEATURES = ("web.api", "web.pages", "web.previews", "web.templating", "web.oidc")
"""The routers and what only they use: imported by the first request that is not a probe."""
FEATURE_LIBRARIES = ("SpiffWorkflow", "jsonschema", "httpx", "argon2", "segno")

_WEB_SCRIPT = """
import json, sys, time
from multiprocessing import forkserver
from pathlib import Path
from starlette.testclient import TestClient
from engine.settings import Settings
from web.app import create_app

app = create_app(Settings(data_dir=Path(sys.argv[1]), secret_key="k" * 64))
client = TestClient(app, follow_redirects=False)
seen = {}
for path in ("/health/live", "/static/style.css", "/health/ready", "/connexion"):
    status = client.get(path).status_code
    seen[path] = {
        "status": status,
        "modules": sorted(sys.modules),
        "routes": len(app.routes),
        "forkserver": forkserver._forkserver._forkserver_pid is not None,
    }
with TestClient(create_app(Settings(data_dir=Path(sys.argv[1]), secret_key="k" * 64))) as started:
    routes = started.app.state.feature_routes
    for _ in range(600):  # the server's start (lifespan) loads them, no request needed
        if routes.included:
            break
        time.sleep(0.1)
    seen["preloaded"] = routes.included
print(json.dumps(seen))
"""


def _under(modules: list[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(f"{p}.") for p in packages))


def test_web_liveness_answers_before_the_routers_and_readiness_waits_for_them(
    tmp_path: Path,
) -> None:
    """The web app built by the factory answers its liveness probe and static files without
    importing the API and page routers or starting the PDF sandbox; readiness waits until they
    are in (a balancer sends no page before), and so does the first page; the server's start
    loads them with no request at all."""
    done = subprocess.run(
        [sys.executable, "-c", _WEB_SCRIPT, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    for probe in ("/health/live", "/static/style.css"):
        early = _under(seen[probe]["modules"], FEATURES + FEATURE_LIBRARIES)
        assert not early, f"{probe} importe : {', '.join(early)}"
        assert not seen[probe]["forkserver"], f"{probe} démarre le bac à sable PDF"
    assert seen["/health/live"]["status"] == 200
    ready = seen["/health/ready"]
    assert "web.pages.auth" in ready["modules"] and "web.api.cases" in ready["modules"]
    assert ready["routes"] > seen["/health/live"]["routes"]
    page = seen["/connexion"]
    assert page["status"] == 200
    assert page["forkserver"]
    assert seen["preloaded"] is True


def test_the_body_limit_of_the_citizen_form_follows_its_upload_limits() -> None:
    from web.app import PUBLIC_FORM_MAX_BODY
    from web.pages.citizen import LIMITS

    assert LIMITS.max_files * LIMITS.max_bytes + 1_000_000 == PUBLIC_FORM_MAX_BODY


def test_redis_priority_steps_are_those_of_fair_share(tmp_path: Path) -> None:
    """The worker module spells fair share's priority levels (fair share imports SQLAlchemy)."""
    from engine.settings import BrokerSettings, Settings
    from engine.worker import app as worker_app
    from engine.worker import fair_share

    s = Settings(data_dir=tmp_path, broker=BrokerSettings(url="redis://127.0.0.1:6379/0"))
    options = worker_app.broker_options(s)["broker_transport_options"]
    assert options["priority_steps"] == list(fair_share.PRIORITY_STEPS)


def test_values_written_out_for_help_match_the_libraries() -> None:
    """Option choices and defaults spelled in the command modules, so that `--help` does not
    import pyHanko, equal the libraries' own."""
    from engine.cli import signatures as cli_signatures
    from engine.jobs import timestamp_renewal
    from engine.worker import app as worker_app
    from signatures import DEFAULT_RENEWAL_HORIZON, PadesLevel

    assert tuple(level.value for level in PadesLevel) == cli_signatures.LEVELS
    assert DEFAULT_RENEWAL_HORIZON.days == cli_signatures.RENEWAL_HORIZON_DAYS
    assert worker_app.RENEWAL_EVERY_S == timestamp_renewal.RENEWAL_EVERY_S
