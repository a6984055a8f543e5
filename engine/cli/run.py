"""`dematflow serve|web|worker|beat`: the processes of the platform."""

from __future__ import annotations

import logging.config
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from engine.cli.common import fail, one_line_errors, settings
from engine.settings import Settings

if TYPE_CHECKING:
    from engine.embedded import EmbeddedServices

WEB_APP = "web.app:create_app"
"""Imported by uvicorn from a string: the engine package does not import `web`."""

log_format_option = click.option(
    "--log-format",
    type=click.Choice(["json", "text"]),
    default="json",
    show_default=True,
    help="Journaux en lignes JSON (pour un collecteur) ou en texte lisible",
)


quiet_option = click.option(
    "--quiet", is_flag=True, help="Sans la bannière de démarrage de Celery (toujours en JSON)."
)


OWN_LOGGERS = ("engine", "web", "signatures", "archiving", "connectors", "uvicorn.error")
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
    import uvicorn

    s = settings()
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
    from engine.worker.app import configure

    # Celery keeps a root logger that already has a handler (worker_hijack_root_logger=False).
    _configure_logging(log_format)
    app = configure(settings())
    app.worker_main(
        [
            *_quiet(log_format, quiet),
            "worker",
            "-Q",
            queues,
            "-c",
            str(concurrency),
            "--loglevel",
            celery_log_level(),
            "-n",
            f"dematflow-{os.getpid()}@%h",
            "--without-mingle",
            "--without-gossip",
        ]
    )


@click.command("beat")
@log_format_option
@quiet_option
@one_line_errors
def beat(log_format: str, quiet: bool) -> None:
    """Lancer le planificateur des traitements périodiques (minuteurs, relais, audits)."""
    from engine.worker.app import configure

    _configure_logging(log_format)
    app = configure(settings())
    app.start([*_quiet(log_format, quiet), "beat", "--loglevel", celery_log_level()])


def _configure_logging(log_format: str) -> None:
    logging.config.dictConfig(log_config(log_format))
    logging.captureWarnings(True)  # warnings become log lines too (JSON, not raw text)


def _quiet(log_format: str, quiet: bool) -> list[str]:
    """Celery's start-up banner is printed, not logged: left out when stderr is JSON lines."""
    return ["--quiet"] if quiet or log_format == "json" else []


def _spawn(args: Sequence[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "engine.cli.main", *args])


@click.command("serve")
@click.option("--host", default=None)
@click.option("--port", type=int, default=None)
@click.option("--no-demo", is_flag=True, help="Ne pas créer la collectivité de démonstration")
@one_line_errors
def serve(host: str | None, port: int | None, no_demo: bool) -> None:
    """Plateforme embarquée : base, PKI, simulateurs, worker, planificateur et web."""
    from engine.bootstrap import prepare_database
    from engine.demo import seed_demo
    from engine.embedded import start_embedded_services
    from engine.serve_descriptor import StaleDescriptor, read_descriptor, remove_descriptor
    from engine.worker.app import connect_platform, relay_outbox

    s = Settings()  # the environment only: never a running platform's descriptor
    try:
        running = read_descriptor(s.data_dir)
    except StaleDescriptor:
        running = None  # left by a crash: replaced below
    if running is not None:
        fail(f"une plateforme tourne déjà avec ce dossier de données (processus {running.pid})")
    s.data_dir.mkdir(parents=True, exist_ok=True)
    _configure_logging("text")
    # uvicorn re-raises SIGTERM once it has shut down; make that a normal exit so the
    # `finally` below stops the worker, the scheduler and the embedded services.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    services = start_embedded_services(s)
    children: list[subprocess.Popen[bytes]] = []
    try:
        s = Settings()  # again: the embedded services set DEMATFLOW_* for themselves and children
        _write_descriptor(s, services, host, port)
        _app, platform = connect_platform(s)
        prepare_database(platform)
        credentials = s.data_dir / "identifiants-demo.txt"
        if not no_demo and seed_demo(platform, credentials):
            click.echo(f"Comptes de démonstration : {credentials.resolve()}")
        children = [
            _spawn(["worker", "--concurrency", "2", "--log-format", "text", "--quiet"]),
            _spawn(["beat", "--log-format", "text", "--quiet"]),
        ]
        relay_outbox(platform, everything=True)
        click.echo(f"dematflow : http://{host or s.web_host}:{port or s.web_port}/")
        import uvicorn

        uvicorn.run(
            WEB_APP,
            factory=True,
            host=host or s.web_host,
            port=port or s.web_port,
            log_level=log_level().lower(),
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
        remove_descriptor(s.data_dir, os.getpid())


def _write_descriptor(
    s: Settings, services: EmbeddedServices, host: str | None, port: int | None
) -> None:
    """Tell CLI commands of the same data dir where the embedded store and PKI listen."""
    from engine.serve_descriptor import ServeDescriptor, write_descriptor
    from signatures.devpki import load_dev_pki

    embedded_store = services.storage_secret_file is not None
    dev_dir = services.env.get("DEMATFLOW_PKI__DEV_DIR")
    pki_dir = Path(dev_dir) if dev_dir else None
    tsa_url = load_dev_pki(pki_dir).tsa_url if pki_dir else s.pki.tsa_url
    write_descriptor(
        s.data_dir,
        ServeDescriptor(
            pid=os.getpid(),
            web_url=f"http://{host or s.web_host}:{port or s.web_port}/",
            storage_endpoint=s.storage.endpoint if embedded_store else None,
            storage_access_key=s.storage.access_key if embedded_store else None,
            storage_secret_file=str(services.storage_secret_file) if embedded_store else None,
            pki_dir=str(pki_dir) if pki_dir else None,
            pki_root=str(pki_dir / "certs" / "root.cer") if pki_dir else None,
            tsa_url=tsa_url,
        ),
    )
