"""Run the prefecture simulator with uvicorn, over HTTP or HTTPS with client certificates."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from devstack.simulators.prefecture import create_app

__all__ = ["ServerTls", "serve_prefecture"]


@dataclass(frozen=True)
class ServerTls:
    """TLS material of the simulator; clients must present a certificate from ``client_ca``."""

    certfile: Path
    """Server certificate chain (PEM)."""
    keyfile: Path
    """Server private key (PEM)."""
    client_ca: Path
    """CA certificates (PEM) that client certificates must chain to (mutual TLS)."""


def serve_prefecture(
    data_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8470,
    tls: ServerTls | None = None,
    ack_delay: float = 0.0,
) -> None:
    """Serve until interrupted (SIGINT/SIGTERM)."""
    if host not in {"127.0.0.1", "localhost", "::1"}:
        raise ValueError("le simulateur n'écoute que sur la boucle locale (127.0.0.1)")
    options: dict[str, object] = {}
    if tls is not None:
        options = {
            "ssl_certfile": str(tls.certfile),
            "ssl_keyfile": str(tls.keyfile),
            "ssl_ca_certs": str(tls.client_ca),
            "ssl_cert_reqs": ssl.CERT_REQUIRED,
        }
    config = uvicorn.Config(
        create_app(data_dir, ack_delay=ack_delay),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        **options,  # type: ignore[arg-type]
    )
    uvicorn.Server(config).run()
