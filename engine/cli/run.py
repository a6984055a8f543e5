"""`dematflow web|worker|beat`: the processes of the platform (`serve`, the embedded one, is
`devstack.cli_serve`)."""

from __future__ import annotations

import importlib
import logging.config
import os
import sys
from typing import TYPE_CHECKING, Any

import click

from engine.cli.common import fail, one_line_errors, settings, starting

if TYPE_CHECKING:
    from engine.settings import Settings


WEB_APP = "web.app:create_app"
"""Imported by uvicorn from a string: the engine package does not import `web`."""

log_format_option = click.option(
    "--log-format",
    type=click.Choice(["json", "text"]),
    default="json",
    show_default=True,
    help="Journaux en lignes JSON (pour un collecteur) ou en texte lisible",
)


def production_settings() -> Settings:
    """The settings of a production process: a weak secret key stops it before anything runs
    (the embedded `serve` gives its children a per-installation random key)."""
    s = settings()
    problem = s.secret_key_problem()
    if problem:
        fail(problem, code=78)  # EX_CONFIG
    return s


quiet_option = click.option(
    "--quiet", is_flag=True, help="Sans la bannière de démarrage de Celery (toujours en JSON)."
)


OWN_LOGGERS = (
    "engine",
    "web",
    "signatures",
    "archiving",
    "connectors",
    "devstack",
    "uvicorn.error",
)
"""Loggers at the asked level; every other library stays at WARNING unless DEBUG is asked
(fontTools alone wrote half of a `make run` log at INFO; SpiffWorkflow logs every task state
change; httpx logs URLs, which may carry identifiers)."""


def log_level() -> str:
    """`DEMATFLOW_LOG_LEVEL` (DEBUG, INFO, WARNING…), INFO by default; inherited by serve's
    children."""
    return os.environ.get("DEMATFLOW_LOG_LEVEL", "INFO").upper()


def celery_log_level() -> str:
    """Celery's `--loglevel`: it sets the root logger (and its task loggers) to it, so libraries
    stay at WARNING there too (one INFO line per received and finished job otherwise)."""
    level = log_level()
    return "WARNING" if level == "INFO" else level


def log_config(log_format: str, level: str | None = None) -> dict[str, Any]:
    """`logging.config.dictConfig` of a process: one handler on stderr, JSON lines or text.

    uvicorn applies it in each of its worker processes too. Its loggers write through the root
    handler; its access log (concrete path with query string, client address) stays off: the
    web app logs one line per request itself, with the route template only."""
    level = (level or log_level()).upper()
    debug = level == "DEBUG"
    libraries = "DEBUG" if debug else "WARNING"
    formatter: dict[str, Any] = (
        {"()": "engine.observability.JsonFormatter"}
        if log_format == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "main",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": libraries},
        "loggers": {
            **{name: {"level": level} for name in OWN_LOGGERS},
            "uvicorn": {"handlers": [], "level": libraries, "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": True},
            # Named too because they set their own levels when imported.
            "spiff": {"level": libraries},
            "httpx": {"level": libraries},
            # The embedded filesystem broker has no host name: kombu warns of it at each connection.
            "kombu.connection": {"level": "DEBUG" if debug else "ERROR"},
            # Font subsetting complains of every table it drops (FFTM…), at WARNING too.
            "fontTools": {"level": "DEBUG" if debug else "ERROR"},
            # Celery's pool logger: given a handler here, Celery does not add its text one.
            "multiprocessing": {"handlers": ["stderr"], "level": "ERROR", "propagate": False},
        },
    }


@click.command("web")
@click.option("--host", default=None)
@click.option("--port", type=int, default=None)
@click.option("--workers", type=int, default=1, show_default=True)
@log_format_option
@one_line_errors
def web(host: str | None, port: int | None, workers: int, log_format: str) -> None:
    """Servir l'API et l'interface web (uvicorn)."""
    with starting():
        import uvicorn

        s = production_settings()
        importlib.import_module(WEB_APP.partition(":")[0])  # uvicorn finds it imported
    logging.captureWarnings(True)
    uvicorn.run(
        WEB_APP,
        factory=True,
        host=host or s.web_host,
        port=port or s.web_port,
        workers=workers,
        proxy_headers=True,
        log_level=log_level().lower(),
        log_config=log_config(log_format),
        access_log=False,
    )


@click.command("worker")
@click.option("--queues", default="engine,signing,sealing,connectors,audits", show_default=True)
@click.option("--concurrency", type=int, default=2, show_default=True)
@log_format_option
@quiet_option
@one_line_errors
def worker(queues: str, concurrency: int, log_format: str, quiet: bool) -> None:
    """Lancer un worker Celery sur les files données."""
    with starting():
        from engine.worker.app import configure, start_worker

        # Celery keeps a root logger that already has a handler (worker_hijack_root_logger=False).
        s = production_settings()
        configure_logging(log_format)
        app = configure(s)
    code = start_worker(
        app,
        queues=[queue.strip() for queue in queues.split(",") if queue.strip()],
        concurrency=concurrency,
        loglevel=celery_log_level(),
        quiet=quiet or log_format == "json",
    )
    sys.exit(code)


@click.command("beat")
@log_format_option
@quiet_option
@one_line_errors
def beat(log_format: str, quiet: bool) -> None:
    """Lancer le planificateur des traitements périodiques (minuteurs, relais, audits)."""
    from engine.worker.app import configure

    s = production_settings()
    configure_logging(log_format)
    app = configure(s)
    app.start([*_quiet(log_format, quiet), "beat", "--loglevel", celery_log_level()])


def configure_logging(log_format: str) -> None:
    logging.config.dictConfig(log_config(log_format))
    logging.captureWarnings(True)  # warnings become log lines too (JSON, not raw text)


def _quiet(log_format: str, quiet: bool) -> list[str]:
    """Celery's start-up banner is printed, not logged: left out when stderr is JSON lines."""
    return ["--quiet"] if quiet or log_format == "json" else []
