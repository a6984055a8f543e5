"""`dematflow serve|web|worker|beat`: the processes of the platform."""

from __future__ import annotations

import logging.config
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

import click

from engine.cli.common import fail, one_line_errors, settings
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


def log_config(log_format: str, level: str = "INFO") -> dict[str, Any]:
    """`logging.config.dictConfig` of a process: one handler on stderr, JSON lines or text.

    uvicorn applies it in each of its worker processes too. Its loggers write through the root
    handler; its access log (concrete path with query string, client address) stays off: the
    web app logs one line per request itself, with the route template only."""
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
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": True},
            # SpiffWorkflow logs every task state change at INFO (~10 lines a step); the
            # journal records what happened. httpx logs URLs, which may carry identifiers.
            "spiff": {"level": "WARNING"},
            "httpx": {"level": "WARNING"},
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
    """Serve the API and the web interface (uvicorn)."""
    import uvicorn

    s = production_settings()
    logging.captureWarnings(True)
    uvicorn.run(
        WEB_APP,
        factory=True,
        host=host or s.web_host,
        port=port or s.web_port,
        workers=workers,
        proxy_headers=True,
        log_level="info",
        log_config=log_config(log_format),
        access_log=False,
    )


@click.command("worker")
@click.option("--queues", default="engine,signing,sealing,connectors,audits", show_default=True)
@click.option("--concurrency", type=int, default=2, show_default=True)
@log_format_option
@one_line_errors
def worker(queues: str, concurrency: int, log_format: str) -> None:
    """Run a Celery worker on the given queues."""
    from engine.worker.app import configure

    # Celery keeps a root logger that already has a handler (worker_hijack_root_logger=False).
    s = production_settings()
    _configure_logging(log_format)
    app = configure(s)
    app.worker_main(
        [
            *_quiet(log_format),
            "worker",
            "-Q",
            queues,
            "-c",
            str(concurrency),
            "--loglevel",
            "INFO",
            "-n",
            f"dematflow-{os.getpid()}@%h",
            "--without-mingle",
            "--without-gossip",
        ]
    )


@click.command("beat")
@log_format_option
@one_line_errors
def beat(log_format: str) -> None:
    """Run the periodic jobs scheduler (timers, outbox relay, audits)."""
    from engine.worker.app import configure

    s = production_settings()
    _configure_logging(log_format)
    app = configure(s)
    app.start([*_quiet(log_format), "beat", "--loglevel", "INFO"])


def _configure_logging(log_format: str) -> None:
    logging.config.dictConfig(log_config(log_format))
    logging.captureWarnings(True)  # warnings become log lines too (JSON, not raw text)


def _quiet(log_format: str) -> list[str]:
    """Celery's start-up banner is printed, not logged: left out when stderr is JSON lines."""
    return ["--quiet"] if log_format == "json" else []


def _spawn(args: Sequence[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "engine.cli.main", *args])


@click.command("serve")
@click.option("--host", default=None)
@click.option("--port", type=int, default=None)
@click.option("--no-demo", is_flag=True, help="Ne pas créer la collectivité de démonstration")
@one_line_errors
def serve(host: str | None, port: int | None, no_demo: bool) -> None:
    """Embedded default: database, PKI, simulators, worker, scheduler and web in one command."""
    from engine.bootstrap import prepare_database
    from engine.demo import seed_demo
    from engine.embedded import start_embedded_services
    from engine.worker.app import connect_platform, relay_outbox

    _configure_logging("text")
    # uvicorn re-raises SIGTERM once it has shut down; make that a normal exit so the
    # `finally` below stops the worker, the scheduler and the embedded services.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    s = settings()
    s.data_dir.mkdir(parents=True, exist_ok=True)
    services = start_embedded_services(s)
    children: list[subprocess.Popen[bytes]] = []
    try:
        s = settings()  # again: the embedded services set DEMATFLOW_* for themselves and children
        _app, platform = connect_platform(s)
        prepare_database(platform)
        credentials = s.data_dir / "identifiants-demo.txt"
        if not no_demo and seed_demo(platform, credentials):
            click.echo(f"Comptes de démonstration : {credentials.resolve()}")
        children = [
            _spawn(["worker", "--concurrency", "2", "--log-format", "text"]),
            _spawn(["beat", "--log-format", "text"]),
        ]
        relay_outbox(platform, everything=True)
        click.echo(f"dematflow : http://{host or s.web_host}:{port or s.web_port}/")
        import uvicorn

        uvicorn.run(
            WEB_APP,
            factory=True,
            host=host or s.web_host,
            port=port or s.web_port,
            log_level="info",
            log_config=log_config("text"),
            access_log=False,  # the app's own access lines: route templates, no query string
        )
    finally:
        for child in children:
            child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        services.stop()
