"""`dematflow serve|web|worker|beat`: the processes of the platform."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

import click

from engine.cli.common import one_line_errors, settings

WEB_APP = "web.app:create_app"
"""Imported by uvicorn from a string: the engine package does not import `web`."""


@click.command("web")
@click.option("--host", default=None)
@click.option("--port", type=int, default=None)
@click.option("--workers", type=int, default=1, show_default=True)
@one_line_errors
def web(host: str | None, port: int | None, workers: int) -> None:
    """Serve the API and the web interface (uvicorn)."""
    import uvicorn

    s = settings()
    uvicorn.run(
        WEB_APP,
        factory=True,
        host=host or s.web_host,
        port=port or s.web_port,
        workers=workers,
        proxy_headers=True,
        log_level="info",
    )


@click.command("worker")
@click.option("--queues", default="engine,signing,sealing,connectors,audits", show_default=True)
@click.option("--concurrency", type=int, default=2, show_default=True)
@one_line_errors
def worker(queues: str, concurrency: int) -> None:
    """Run a Celery worker on the given queues."""
    from engine.worker.app import configure

    app = configure(settings())
    app.worker_main(
        [
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
@one_line_errors
def beat() -> None:
    """Run the periodic jobs scheduler (timers, outbox relay, audits)."""
    from engine.worker.app import configure

    app = configure(settings())
    app.start(["beat", "--loglevel", "INFO"])


def _spawn(args: Sequence[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "engine.cli.main", *args])


@click.command("serve")
@click.option("--host", default=None)
@click.option("--port", type=int, default=None)
@click.option("--no-demo", is_flag=True, help="Ne pas créer la collectivité de démonstration")
@one_line_errors
def serve(host: str | None, port: int | None, no_demo: bool) -> None:
    """Embedded default: database, PKI, simulators, worker, scheduler and web in one command."""
    from engine.bootstrap import build_platform, prepare_database
    from engine.demo import seed_demo
    from engine.embedded import start_embedded_services
    from engine.observability import configure_logging
    from engine.worker.app import connect_platform, relay_outbox

    configure_logging(json_lines=False)
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
        prepare_database(build_platform(s))
        credentials = s.data_dir / "identifiants-demo.txt"
        if not no_demo and seed_demo(platform, credentials):
            click.echo(f"Comptes de démonstration : {credentials.resolve()}")
        children = [_spawn(["worker", "--concurrency", "2"]), _spawn(["beat"])]
        relay_outbox(platform, everything=True)
        click.echo(f"dematflow : http://{host or s.web_host}:{port or s.web_port}/")
        import uvicorn

        uvicorn.run(
            WEB_APP,
            factory=True,
            host=host or s.web_host,
            port=port or s.web_port,
            log_level="info",
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
