"""`dematflow serve`: the embedded platform in one process tree (embedded services, worker,
scheduler and web), for development and demonstration."""

from __future__ import annotations

import ipaddress
import os
import signal
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

import click

from devstack.process import ChildProcess, Supervisor, start_process
from engine.cli.common import fail, one_line_errors
from engine.cli.run import WEB_APP, configure_logging, log_config, log_level
from engine.settings import Settings

if TYPE_CHECKING:
    from devstack.embedded import EmbeddedServices


def _spawn(*args: str, what: str) -> ChildProcess:
    """A `dematflow` command as a child whose output joins serve's."""
    return start_process([sys.executable, "-m", "engine.cli.main", *args], what=what)


def public_urls(environ: Mapping[str, str], host: str, port: int) -> dict[str, str]:
    """The address the published acts are linked from (public register), when not set by hand:
    the one this platform serves, so a port chosen with DEMATFLOW_WEB_PORT or --port gives
    links that open (the default assumed port 8000)."""
    if "DEMATFLOW_PUBLICATION__BASE_URL" in environ:
        return {}
    try:
        anywhere = ipaddress.ip_address(host).is_unspecified  # bound to every interface
    except ValueError:
        anywhere = not host
    shown = "127.0.0.1" if anywhere else host
    return {"DEMATFLOW_PUBLICATION__BASE_URL": f"http://{shown}:{port}"}


@click.command("serve")
@click.option("--host", default=None)
@click.option("--port", type=int, default=None)
@click.option("--no-demo", is_flag=True, help="Ne pas créer la collectivité de démonstration")
@one_line_errors
def serve(host: str | None, port: int | None, no_demo: bool) -> None:
    """Plateforme embarquée : base, PKI, simulateurs, worker, planificateur et web."""
    from devstack.demo import seed_demo
    from devstack.descriptor import remove_descriptor
    from devstack.embedded import start_embedded_services
    from engine.bootstrap import prepare_database
    from engine.serve_descriptor import StaleDescriptor, read_descriptor
    from engine.worker.app import connect_platform, relay_outbox

    s = Settings()  # the environment only: never a running platform's descriptor
    try:
        running = read_descriptor(s.data_dir)
    except StaleDescriptor:
        running = None  # left by a crash: replaced below
    if running is not None:
        fail(f"une plateforme tourne déjà avec ce dossier de données (processus {running.pid})")
    s.data_dir.mkdir(parents=True, exist_ok=True)
    configure_logging("text")
    # uvicorn re-raises SIGTERM once it has shut down; make that a normal exit so the
    # `finally` below stops the worker, the scheduler and the embedded services.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    services = start_embedded_services(s)
    os.environ.update(public_urls(os.environ, host or s.web_host, port or s.web_port))
    supervisor = Supervisor(max_restarts=5, window=60.0)
    try:
        s = Settings()  # again: the embedded services set DEMATFLOW_* for themselves and children
        _write_descriptor(s, services, host, port)
        _app, platform = connect_platform(s)
        prepare_database(platform)
        credentials = s.data_dir / "identifiants-demo.txt"
        if not no_demo and seed_demo(platform, credentials):
            click.echo(f"Comptes de démonstration : {credentials.resolve()}")
        worker = ("worker", "--concurrency", "2", "--log-format", "text", "--quiet")
        supervisor.add(lambda: _spawn(*worker, what="worker"))
        supervisor.add(
            lambda: _spawn("beat", "--log-format", "text", "--quiet", what="planificateur")
        )
        supervisor.start()  # a worker or scheduler that dies is started again
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
        supervisor.stop(timeout=15)
        services.stop()
        remove_descriptor(s.data_dir, os.getpid())


def _write_descriptor(
    s: Settings, services: EmbeddedServices, host: str | None, port: int | None
) -> None:
    """Tell CLI commands of the same data dir where the embedded store and PKI listen."""
    from devstack.descriptor import write_descriptor
    from engine.serve_descriptor import ServeDescriptor

    embedded_store = services.storage_secret_file is not None
    pki_dir = services.pki_dir
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
            tsa_url=services.pki_tsa_url or s.pki.tsa_url,
        ),
    )
