"""Start-up stays light: `--help` of every command, the web app module and the worker app module
load none of the heavy libraries; each is imported where it is used (no timing here: the figures
are `bench/bench_startup.py`'s)."""

from __future__ import annotations

import json
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


def _loaded(script: str) -> dict[str, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
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
