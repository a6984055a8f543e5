"""`dematflow simulators ...`: run simulated outside services on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import click

from connectors.simulators.server import ServerTls, serve_prefecture


@click.group()
def group() -> None:
    """Services simulés (préfecture @ctes) pour les tests et la démonstration."""


group.name = "simulators"


@group.command("prefecture")
@click.option("--port", type=int, default=8470, show_default=True, help="Port TCP d'écoute.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Adresse de boucle locale.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Dossier où l'état du simulateur est conservé (SQLite).",
)
@click.option("--tls-cert", type=click.Path(exists=True, path_type=Path), default=None)
@click.option("--tls-key", type=click.Path(exists=True, path_type=Path), default=None)
@click.option(
    "--client-ca",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="AC des certificats clients exigés (TLS mutuel).",
)
@click.option(
    "--ack-delay", type=float, default=0.0, show_default=True, help="Délai avant l'AR (s)."
)
def prefecture(
    port: int,
    host: str,
    data_dir: Path,
    tls_cert: Path | None,
    tls_key: Path | None,
    client_ca: Path | None,
    ack_delay: float,
) -> None:
    """Simulateur de préfecture derrière un tiers de télétransmission de type S²LOW."""
    tls_options = (tls_cert, tls_key, client_ca)
    if any(tls_options) and not all(tls_options):
        raise click.UsageError("--tls-cert, --tls-key et --client-ca vont ensemble.")
    tls = None
    if tls_cert and tls_key and client_ca:
        tls = ServerTls(certfile=tls_cert, keyfile=tls_key, client_ca=client_ca)
    try:
        serve_prefecture(data_dir, host=host, port=port, tls=tls, ack_delay=ack_delay)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
