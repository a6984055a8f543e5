"""`dematflow serve`: the embedded platform in one process tree (embedded services, worker,
scheduler and web), for development and demonstration."""

from __future__ import annotations

import contextlib
import importlib
import ipaddress
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from devstack.process import ChildProcess, Supervisor, port_open, start_process
from engine.cli.common import fail, one_line_errors, starting
from engine.cli.run import WEB_APP, configure_logging, log_config, log_level

if TYPE_CHECKING:
    from devstack.embedded import EmbeddedServices
    from engine.bootstrap import Platform
    from engine.settings import Settings


log = logging.getLogger(__name__)


@contextmanager
def _phase(what: str, timings: list[str]) -> Iterator[None]:
    """Time a start-up phase: serve logs where its start-up went (issue 17: first `make run`
    under 30 s, later starts under 10 s)."""
    started = time.perf_counter()
    yield
    timings.append(f"{what} {time.perf_counter() - started:.1f} s")


def _spawn(*args: str, what: str) -> ChildProcess:
    """A `dematflow` command as a child whose output joins serve's."""
    return start_process([sys.executable, "-m", "engine.cli.main", *args], what=what)


def public_urls(environ: Mapping[str, str], host: str, port: int) -> dict[str, str]:
    """The address the published acts are linked from (public register), when not set by hand:
    the one this platform serves, so a port chosen with DEMATFLOW_WEB_PORT or --port gives
    links that open (the default assumed port 8000)."""
    if "DEMATFLOW_PUBLICATION__BASE_URL" in environ:
        return {}
    return {"DEMATFLOW_PUBLICATION__BASE_URL": f"http://{_reachable(host)}:{port}"}


def _reachable(host: str) -> str:
    """Where this machine reaches a server bound to `host`."""
    try:
        anywhere = ipaddress.ip_address(host).is_unspecified  # bound to every interface
    except ValueError:
        anywhere = not host
    return "127.0.0.1" if anywhere else host


@click.command("serve")
@click.option("--host", default=None)
@click.option("--port", type=int, default=None)
@click.option("--no-demo", is_flag=True, help="Ne pas créer la collectivité de démonstration")
@one_line_errors
def serve(host: str | None, port: int | None, no_demo: bool) -> None:
    """Plateforme embarquée : base, PKI, simulateurs, worker, planificateur et web."""
    from devstack.descriptor import remove_descriptor
    from devstack.embedded import start_embedded_services
    from engine.serve_descriptor import StaleDescriptor, read_descriptor
    from engine.settings import Settings
    from engine.worker.app import connect_platform

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
    timings: list[str] = []
    started = time.perf_counter()
    # While the embedded services start (mostly waiting for their processes to listen), the
    # schema is migrated, the procedures deployed and the web application imported, in one
    # thread (one thread importing the product's modules at a time): none needs the services.
    with starting(), ThreadPoolExecutor(max_workers=1) as pool:
        database = pool.submit(_prepare_database, s, timings)
        with _phase("services embarqués", timings):
            services = start_embedded_services(s)
        failed = database.exception()
    if failed is not None:
        services.stop()
        raise failed
    os.environ.update(public_urls(os.environ, host or s.web_host, port or s.web_port))
    supervisor = Supervisor(max_restarts=5, window=60.0)
    stopping, children = threading.Event(), threading.Lock()
    try:
        s = Settings()  # again: the embedded services set DEMATFLOW_* for themselves and children
        _write_descriptor(s, services, host, port)
        _app, platform = connect_platform(s)
        credentials = None if no_demo else s.data_dir / "identifiants-demo.txt"
        # The web answers first; the demo's seeding, the worker and the scheduler follow in the
        # background (they would compete with the web's start-up for the CPU).
        threading.Thread(
            target=_once_served,
            args=(platform, supervisor, (host or s.web_host, port or s.web_port), credentials),
            kwargs={
                "stopping": stopping,
                "children": children,
                "started": started,
                "sae_url": services.sae_url,
            },
            name="après-démarrage",
            daemon=True,
        ).start()
        log.info("services prêts en %.1f s : %s", time.perf_counter() - started, ", ".join(timings))
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
        with children:  # no worker or scheduler starts after this
            stopping.set()
        supervisor.stop(timeout=15)
        services.stop()
        remove_descriptor(s.data_dir, os.getpid())


def _once_served(
    platform: Platform,
    supervisor: Supervisor,
    web: tuple[str, int],
    credentials: Path | None,
    *,
    stopping: threading.Event,
    children: threading.Lock,
    started: float,
    sae_url: str | None = None,
) -> None:
    """Once the web answers: the demo's seeding (first start), then the worker and the
    scheduler, then the jobs a killed worker left. The seeding runs its cases' jobs itself, on
    a business clock of its own, so no worker runs beside it. The demo accounts are written and
    shown when the demo is complete: whoever logs in with them finds it whole."""
    from devstack.demo import seed_demo
    from engine.worker.app import relay_outbox

    while not port_open(web[1], _reachable(web[0])):
        if stopping.wait(0.1):
            return
    log.info("web prêt en %.1f s", time.perf_counter() - started)
    if credentials is not None:
        seeding = time.perf_counter()
        try:
            if seed_demo(platform, credentials):
                log.info("démonstration créée en %.1f s", time.perf_counter() - seeding)
                click.echo(f"Comptes de démonstration : {credentials.resolve()}")
        except Exception:
            if stopping.is_set():
                log.warning("arrêt pendant la création de la démonstration : elle est incomplète")
                return
            log.exception("démonstration non créée")
    if sae_url is not None:
        from devstack.demo_training import point_training_at_sae

        try:
            point_training_at_sae(platform, sae_url)
        except Exception:
            log.exception("espace de formation : SAE simulé non réglé")
    worker = ("worker", "--concurrency", "2", "--log-format", "text", "--quiet")
    with children:
        if stopping.is_set():
            return
        supervisor.add(lambda: _spawn(*worker, what="worker"))
        supervisor.add(
            lambda: _spawn("beat", "--log-format", "text", "--quiet", what="planificateur")
        )
        supervisor.start()  # a worker or scheduler that dies is started again
    relay_outbox(platform, everything=True)


def _prepare_database(s: Settings, timings: list[str]) -> None:
    """Migrate the schema and deploy the procedures (`engine.bootstrap.prepare_database`), then
    import the web application uvicorn serves and its routers (an import error shows again when
    uvicorn imports it or its first page includes them, with its traceback)."""
    from engine.bootstrap import build_platform, prepare_database

    with _phase("base et procédures", timings):
        platform = build_platform(s)
        try:
            prepare_database(platform)
        finally:
            platform.db.dispose()
    with _phase("import de l'application web", timings), contextlib.suppress(Exception):
        # With its routers' modules, which its first page includes (`web.app.FeatureRoutes`):
        # imported here, beside the embedded services' start, not after them.
        importlib.import_module(WEB_APP.partition(":")[0]).feature_routers()


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
