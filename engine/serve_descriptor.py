"""What `dematflow serve` leaves in its data dir while it runs (`plateforme.json`): where the
embedded services listen, so that CLI commands started beside it reach the same store and PKI.
This is the reading side; `devstack.descriptor` writes and removes it.

The file holds no secret: the S3 secret stays in its own 0600 file, named here. It is written
when the embedded services are up and removed on a clean stop; one left behind by a crash is
recognised (its process is gone or its store does not answer) and reported, never used."""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from engine.settings import S3Identity, Settings

DESCRIPTOR_NAME = "plateforme.json"


class StaleDescriptor(Exception):
    """A descriptor whose `dematflow serve` no longer runs."""


@dataclass(frozen=True)
class ServeDescriptor:
    pid: int
    """Process id of `dematflow serve`."""
    web_url: str
    storage_endpoint: str | None
    """host:port of the embedded S3 server; None when the store is configured apart."""
    storage_access_key: str | None
    storage_secret_file: str | None
    """File holding the S3 secret (mode 0600)."""
    pki_dir: str | None
    """Development PKI directory; None with a production PKI."""
    pki_root: str | None
    """Trust anchor of the development PKI (DER)."""
    tsa_url: str | None


def descriptor_path(data_dir: Path) -> Path:
    return data_dir / DESCRIPTOR_NAME


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _answers(endpoint: str) -> bool:
    host, _, port = endpoint.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=1.0):
            return True
    except (OSError, ValueError):
        return False


def read_descriptor(data_dir: Path) -> ServeDescriptor | None:
    """The descriptor of the running `serve`; None when there is none.

    Raises :class:`StaleDescriptor` (French message) when the file is left from a `serve` that
    no longer runs, or cannot be read."""
    path = descriptor_path(data_dir)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        descriptor = ServeDescriptor(**raw)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        raise StaleDescriptor(
            f"{path} illisible ({exc}) : supprimez-le et relancez make run"
        ) from exc
    alive = _pid_alive(descriptor.pid) and (
        descriptor.storage_endpoint is None or _answers(descriptor.storage_endpoint)
    )
    if not alive:
        raise StaleDescriptor(
            f"la plateforme décrite par {path} ne tourne plus (processus {descriptor.pid}) : "
            "relancez « make run » (ou « dematflow serve »), ou supprimez ce fichier"
        )
    return descriptor


def with_running_platform(settings: Settings) -> Settings:
    """These settings, completed by the running `serve`'s descriptor where they are silent.

    Explicit settings win: the store is taken from the descriptor only when no S3 endpoint is
    configured, the development PKI only when no production TSA or PKI folder is. A stale
    descriptor changes nothing here (commands that need the store report it)."""
    try:
        descriptor = read_descriptor(settings.data_dir)
    except StaleDescriptor:
        return settings
    if descriptor is None:
        return settings
    update: dict[str, object] = {}
    if not settings.storage.endpoint and descriptor.storage_endpoint:
        storage: dict[str, object] = {"endpoint": descriptor.storage_endpoint}
        if descriptor.storage_access_key:
            storage["access_key"] = descriptor.storage_access_key
        if descriptor.storage_secret_file:
            secret_file = Path(descriptor.storage_secret_file)
            storage["secret_key"] = secret_file.read_text(encoding="utf-8").strip()
            storage.update(
                _embedded_identities(settings, secret_file, descriptor.storage_access_key)
            )
        update["storage"] = settings.storage.model_copy(update=storage)
    if not settings.pki.tsa_url and not settings.pki.dev_dir and descriptor.pki_dir:
        update["pki"] = settings.pki.model_copy(update={"dev_dir": Path(descriptor.pki_dir)})
    return settings.model_copy(update=update) if update else settings


def _embedded_identities(
    settings: Settings, secret_file: Path, access_key: str | None
) -> dict[str, object]:
    """The embedded store's legal-hold and bucket-admin identities (secrets beside the writer's)."""
    found: dict[str, object] = {}
    holds, admin = secret_file.with_name("holds-secret"), secret_file.with_name("admin-secret")
    if holds.is_file():
        found["holds"] = S3Identity(
            access_key=settings.storage.holds.access_key,
            secret_key=holds.read_text(encoding="utf-8").strip(),
        )
    if admin.is_file() and access_key:
        found["bucket_admin"] = S3Identity(
            access_key=f"{access_key}-admin", secret_key=admin.read_text(encoding="utf-8").strip()
        )
    return found
