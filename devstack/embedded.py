"""What the embedded default starts for itself when production services are not configured:
the development PKI (TSA, OCSP, CRLs), the prefecture simulator, a local SMTP sink and an S3
server. Each is bound to 127.0.0.1 only and handed to the platform as plain settings
(`DEMATFLOW_*` variables for this process and its children)."""

from __future__ import annotations

import logging
import os
import secrets
import sys
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from devstack.maildrop import start_mail_drop
from devstack.pki import build_dev_pki, load_dev_pki, publish_for_signing, serve_dev_pki
from devstack.process import free_port, start_process
from devstack.s3 import start_seaweed
from engine.services.signing_setup import dev_pki_dir
from engine.settings import DEFAULT_SECRET_KEY, Settings

log = logging.getLogger(__name__)

DEMO_ORGANISATION = "Commune de Démonstration"
DEMO_SIGNERS = ("Marie Dupont", "Jean Martin")
"""Display names of the demo élus; each gets a certificate of the development PKI."""


@dataclass
class EmbeddedServices:
    env: dict[str, str] = field(default_factory=dict)
    """Settings for the child processes (worker, beat, web), as DEMATFLOW_* variables."""
    storage_secret_file: Path | None = None
    """File (0600) holding the embedded S3 server's secret, when it was started."""
    pki_dir: Path | None = None
    """Directory of the development PKI, when it was started."""
    pki_tsa_url: str | None = None
    """Its time-stamping URL."""
    sae_url: str | None = None
    """The SAE simulator's URL (the training space's Archives départementales), when started."""
    _stops: list[Callable[[], None]] = field(default_factory=list)

    def stop(self) -> None:
        for stop in reversed(self._stops):
            try:
                stop()
            except Exception:
                log.exception("arrêt d'un service embarqué")
        self._stops.clear()


def _start_pki(settings: Settings, services: EmbeddedServices) -> None:
    directory = dev_pki_dir(settings)
    try:
        pki = load_dev_pki(directory)
        publish_for_signing(pki)  # a PKI built before the product read `signing.json`
    except Exception:
        pki = build_dev_pki(
            directory, signer_names=DEMO_SIGNERS, organisation=DEMO_ORGANISATION, port=free_port()
        )
    server = serve_dev_pki(pki)
    services._stops.append(server.stop)
    services.pki_dir = pki.directory
    services.pki_tsa_url = pki.tsa_url
    services.env["DEMATFLOW_PKI__DEV_DIR"] = str(pki.directory)
    log.info("PKI de développement : horodatage %s", pki.tsa_url)


SIMULATOR_POLL_SECONDS = 5
"""How often the embedded prefecture simulator is asked for its answers. It answers at once and
costs nothing to ask: its acknowledgements reach the dossiers within seconds, as someone trying
the platform expects, instead of within the production period (a minute)."""


def prefecture_env(port: int, environ: Mapping[str, str]) -> dict[str, str]:
    """The settings pointing at the embedded simulator; a polling period set by hand stays."""
    env = {"DEMATFLOW_ACTES__BASE_URL": f"http://127.0.0.1:{port}"}
    if "DEMATFLOW_ACTES__POLL_PERIOD_SECONDS" not in environ:
        env["DEMATFLOW_ACTES__POLL_PERIOD_SECONDS"] = str(SIMULATOR_POLL_SECONDS)
    return env


def _start_prefecture(settings: Settings, services: EmbeddedServices) -> None:
    port = free_port()
    data = (settings.data_dir / "prefecture").resolve()
    data.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "engine.cli.main", "simulators", "prefecture"]
    child = start_process(
        [*command, "--port", str(port), "--data-dir", str(data)],
        what="simulateur de préfecture",
        log=data / "simulator.log",
        port=port,  # the demo seeding uses it right away
        timeout=60.0,
    )
    services._stops.append(child.stop)
    services.env.update(prefecture_env(port, os.environ))
    log.info("simulateur de préfecture : http://127.0.0.1:%s", port)


def _start_sae(settings: Settings, services: EmbeddedServices) -> None:
    """The Archives départementales' SAE, simulated (Vitam and As@lae): the training space
    transfers its packages there (a training space's packages never leave the machine)."""
    port = free_port()
    data = (settings.data_dir / "sae").resolve()
    data.mkdir(parents=True, exist_ok=True)
    child = start_process(
        [sys.executable, "-m", "engine.cli.main", "simulators", "sae", "--port", str(port)],
        what="simulateur du SAE",
        log=data / "simulator.log",
        port=port,
        timeout=60.0,
    )
    services._stops.append(child.stop)
    services.sae_url = f"http://127.0.0.1:{port}"
    log.info("simulateur du SAE (Archives départementales) : %s", services.sae_url)


def _start_mail_drop(settings: Settings, services: EmbeddedServices) -> None:
    directory = (settings.data_dir / "courriels").resolve()
    port, stop = start_mail_drop(directory)
    services._stops.append(stop)
    services.env["DEMATFLOW_SMTP__HOST"] = "127.0.0.1"
    services.env["DEMATFLOW_SMTP__PORT"] = str(port)
    log.info("courriels déposés dans %s", directory)


def _start_object_store(settings: Settings, services: EmbeddedServices) -> None:
    directory = (settings.data_dir / "s3").resolve()
    directory.mkdir(parents=True, exist_ok=True)
    secret_file = directory / "secret"
    secret = _private_secret(secret_file, 24)
    # The legal-hold and bucket-admin secrets sit beside it (read back by the CLI).
    holds_secret = _private_secret(directory / "holds-secret", 24)
    admin_secret = _private_secret(directory / "admin-secret", 24)
    server = start_seaweed(
        directory / "data",
        access_key=settings.storage.access_key,
        secret_key=secret,
        holds_access_key=settings.storage.holds.access_key,
        holds_secret_key=holds_secret,
        admin_secret_key=admin_secret,
    )
    services._stops.append(server.stop)
    services.env["DEMATFLOW_STORAGE__ENDPOINT"] = server.config.endpoint
    services.env["DEMATFLOW_STORAGE__SECRET_KEY"] = secret
    services.env["DEMATFLOW_STORAGE__HOLDS__ACCESS_KEY"] = settings.storage.holds.access_key
    services.env["DEMATFLOW_STORAGE__HOLDS__SECRET_KEY"] = holds_secret
    services.env["DEMATFLOW_STORAGE__BUCKET_ADMIN__ACCESS_KEY"] = str(
        server.config.admin_access_key
    )
    services.env["DEMATFLOW_STORAGE__BUCKET_ADMIN__SECRET_KEY"] = admin_secret
    services.storage_secret_file = secret_file
    log.info("stockage S3 (SeaweedFS, verrouillage d'objets) : %s", server.config.endpoint)


def _private_secret(path: Path, size: int) -> str:
    """A random secret kept in a file only the owner reads, created on first use."""
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(size))
    return path.read_text().strip()


def _installation_secret_key(settings: Settings, services: EmbeddedServices) -> None:
    """The public default key never signs anything: one random key per installation."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = _private_secret((settings.data_dir / "secret_key").resolve(), 48)
    services.env["DEMATFLOW_SECRET_KEY"] = key


def start_embedded_services(settings: Settings) -> EmbeddedServices:
    """Start what production provides separately, for the services left unconfigured.

    They start side by side (each mostly waits for its own process to listen: the PKI's keys
    and certomancer, SeaweedFS, the prefecture simulator's interpreter); if one fails, those
    started are stopped and its error is raised."""
    services = EmbeddedServices()
    starters: list[Callable[[Settings, EmbeddedServices], None]] = []
    if not settings.pki.tsa_url:
        starters.append(_start_pki)
    if not settings.storage.endpoint:
        starters.append(_start_object_store)
    if not settings.actes.base_url:
        starters.append(_start_prefecture)
        starters.append(_start_sae)
    if not settings.smtp.host:
        starters.append(_start_mail_drop)
    try:
        if settings.secret_key == DEFAULT_SECRET_KEY:
            _installation_secret_key(settings, services)
        with ThreadPoolExecutor(max_workers=max(1, len(starters))) as pool:
            futures = [pool.submit(start, settings, services) for start in starters]
            wait(futures)
        for future in futures:
            future.result()  # the first failure, raised here
    except BaseException:
        services.stop()
        raise
    os.environ.update(services.env)
    return services
