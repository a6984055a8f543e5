"""What the embedded default starts for itself when production services are not configured:
the development PKI (TSA, OCSP, CRLs), the prefecture simulator, a local SMTP sink and, when
the archiving library provides it, an S3 server. Each is bound to 127.0.0.1 only."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from engine.settings import Settings
from engine.signing import dev_pki_dir
from signatures.devpki import build_dev_pki, load_dev_pki, serve_dev_pki

log = logging.getLogger(__name__)

DEMO_ORGANISATION = "Commune de Démonstration"
DEMO_SIGNERS = ("Marie Dupont", "Jean Martin")
"""Display names of the demo élus; each gets a certificate of the development PKI."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _MailDrop:
    """SMTP sink of the embedded default: every message is kept as an .eml file to read."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        data = bytes(envelope.content)
        message = BytesParser(policy=policy.default).parsebytes(data)
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{abs(hash(data)) % 10**8:08d}.eml"
        (self.directory / name).write_bytes(data)
        log.info("courriel déposé dans %s : %s", name, message.get("Subject", ""))
        return "250 OK"


@dataclass
class EmbeddedServices:
    env: dict[str, str] = field(default_factory=dict)
    """Settings for the child processes (worker, beat, web), as DEMATFLOW_* variables."""
    storage_secret_file: Path | None = None
    """File (0600) holding the embedded S3 server's secret, when it was started."""
    _stops: list[Any] = field(default_factory=list)

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
    except Exception:
        pki = build_dev_pki(
            directory, signer_names=DEMO_SIGNERS, organisation=DEMO_ORGANISATION, port=free_port()
        )
    server = serve_dev_pki(pki)
    services._stops.append(server.stop)
    services.env["DEMATFLOW_PKI__DEV_DIR"] = str(directory.resolve())
    log.info("PKI de développement : horodatage %s", pki.tsa_url)


def _wait_listening(
    port: int, process: subprocess.Popen[bytes], *, what: str, timeout: float = 60.0
) -> None:
    """Wait until a child answers on 127.0.0.1:port: the demo seeding uses it right away."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} : arrêté au démarrage (code {process.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} : ne répond pas après {timeout:.0f} s (port {port})")


def _start_prefecture(settings: Settings, services: EmbeddedServices) -> None:
    port = free_port()
    data = (settings.data_dir / "prefecture").resolve()
    data.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "engine.cli.main",
            "simulators",
            "prefecture",
            "--port",
            str(port),
            "--data-dir",
            str(data),
        ]
    )

    def stop() -> None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    services._stops.append(stop)
    _wait_listening(port, process, what="simulateur de préfecture")
    services.env["DEMATFLOW_ACTES__BASE_URL"] = f"http://127.0.0.1:{port}"
    log.info("simulateur de préfecture : http://127.0.0.1:%s", port)


def _start_mail_drop(settings: Settings, services: EmbeddedServices) -> None:
    directory = (settings.data_dir / "courriels").resolve()
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    controller = Controller(_MailDrop(directory), hostname="127.0.0.1", port=port)
    controller.start()
    services._stops.append(controller.stop)
    services.env["DEMATFLOW_SMTP__HOST"] = "127.0.0.1"
    services.env["DEMATFLOW_SMTP__PORT"] = str(port)
    log.info("courriels déposés dans %s", directory)


def _start_object_store(settings: Settings, services: EmbeddedServices) -> None:
    from archiving.storage.devserver import start_seaweed

    directory = (settings.data_dir / "s3").resolve()
    directory.mkdir(parents=True, exist_ok=True)
    secret_file = directory / "secret"
    if not secret_file.exists():
        fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(24))
    secret = secret_file.read_text().strip()
    server = start_seaweed(
        directory / "data", access_key=settings.storage.access_key, secret_key=secret
    )
    services._stops.append(server.stop)
    services.env["DEMATFLOW_STORAGE__ENDPOINT"] = server.config.endpoint
    services.env["DEMATFLOW_STORAGE__SECRET_KEY"] = secret
    services.storage_secret_file = secret_file
    log.info("stockage S3 (SeaweedFS, verrouillage d'objets) : %s", server.config.endpoint)


def start_embedded_services(settings: Settings) -> EmbeddedServices:
    """Start what production provides separately, for the services left unconfigured."""
    services = EmbeddedServices()
    try:
        if not settings.pki.tsa_url:
            _start_pki(settings, services)
        if not settings.storage.endpoint:
            _start_object_store(settings, services)
        actes = getattr(settings, "actes", None)
        if actes is not None and not actes.base_url:
            _start_prefecture(settings, services)
        smtp = getattr(settings, "smtp", None)
        if smtp is not None and not smtp.host:
            _start_mail_drop(settings, services)
    except BaseException:
        services.stop()
        raise
    os.environ.update(services.env)
    return services
