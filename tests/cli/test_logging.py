"""Entry-point logging: our own INFO lines, no library noise (fontTools, SpiffWorkflow, httpx)
unless DEBUG is asked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_RENDER = """
import logging, logging.config
from datetime import UTC, datetime
from engine.cli.run import log_config
from engine.rendering import RenderRequest, render_pdf

logging.config.dictConfig(log_config("text", {level!r}))
seen = []

class Recorder(logging.Handler):
    def emit(self, record):
        seen.append(record.name)

logging.getLogger().addHandler(Recorder())
logging.getLogger("devstack.demo").info("rendu en cours")
rendered = render_pdf(RenderRequest(
    template="note",
    context={{"titre": "Plan de situation", "texte": "Terrasse de 12 m² devant le café."}},
    issuer="Commune de Démonstration",
    issued_at=datetime.now(UTC),
))
assert rendered.pdf.startswith(b"%PDF")
logging.getLogger("spiff.task").info("State changed to READY")
logging.getLogger("httpx").info("HTTP Request: GET http://127.0.0.1/?id=1")
print(",".join(sorted(set(seen))))
"""


def _loggers_reaching_handlers(level: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", _RENDER.format(level=level)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    return set(done.stdout.strip().split(","))


def test_rendering_a_pdf_at_info_logs_no_library_noise() -> None:
    names = _loggers_reaching_handlers("INFO")
    assert "devstack.demo" in names
    assert not [n for n in names if n.startswith(("fontTools", "spiff", "httpx", "weasyprint"))]


def test_debug_lets_library_records_through() -> None:
    names = _loggers_reaching_handlers("DEBUG")
    assert any(n.startswith("fontTools") for n in names)
    assert "spiff.task" in names


def test_worker_logging_keeps_celery_job_lines_out_at_info(tmp_path: Path) -> None:
    """Celery sets the root logger to its `--loglevel`: the worker passes WARNING at INFO."""
    script = (
        "import logging, logging.config\n"
        "from engine.cli.run import celery_log_level, log_config\n"
        "from engine.settings import Settings\n"
        "from engine.worker.app import configure\n"
        "logging.config.dictConfig(log_config('text', 'INFO'))\n"
        f"app = configure(Settings(data_dir={str(tmp_path)!r}))\n"
        "app.log.setup(loglevel=celery_log_level())\n"
        "for name in ('celery.app.trace', 'celery.worker.strategy', 'celery.beat', 'kombu'):\n"
        "    assert not logging.getLogger(name).isEnabledFor(logging.INFO), name\n"
        "assert logging.getLogger('engine.worker.app').isEnabledFor(logging.INFO)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr
