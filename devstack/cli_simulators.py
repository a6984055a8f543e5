"""`dematflow simulators ...`: run simulated outside services on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def group() -> None:
    """Services simulés (préfecture @ctes, ProConnect) pour les tests et la démonstration."""


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
    from devstack.simulators.prefecture_server import ServerTls, serve_prefecture

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


@group.command("oidc")
@click.option("--port", type=int, default=0, show_default=True, help="Port TCP (0 : au hasard).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Adresse de boucle locale.")
@click.option("--client-id", default="dematflow", show_default=True)
@click.option("--client-secret", default="secret-du-simulateur", show_default=True)
@click.option(
    "--redirect-uri",
    "redirect_uris",
    multiple=True,
    help="URI de retour autorisée (répétable) ; aucune : toute URL sur 127.0.0.1.",
)
@click.option(
    "--identities",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Fichier JSON des agents de test (sub, email, given_name, usual_name, siret).",
)
def oidc(
    port: int,
    host: str,
    client_id: str,
    client_secret: str,
    redirect_uris: tuple[str, ...],
    identities: Path | None,
) -> None:
    """Fournisseur OpenID Connect simulé, façon ProConnect ; affiche son URL d'émetteur."""
    from devstack.simulators.oidc import serve_oidc
    from devstack.simulators.oidc_provider import SimulatorConfig, load_identities

    config = SimulatorConfig(
        client_id=client_id, client_secret=client_secret, redirect_uris=list(redirect_uris)
    )
    if identities is not None:
        try:
            config.identities = load_identities(identities)
        except (ValueError, TypeError) as exc:
            raise click.UsageError(f"fichier d'agents illisible : {exc}") from exc
    try:
        serve_oidc(config, host=host, port=port)
    except (ValueError, OSError) as exc:
        raise click.UsageError(str(exc)) from exc


@group.command("sae")
@click.option("--port", type=int, default=8471, show_default=True, help="Port TCP d'écoute.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Adresse de boucle locale.")
@click.option(
    "--reply-delay", type=float, default=0.0, show_default=True, help="Délai avant réponse (s)."
)
@click.option(
    "--decision",
    type=click.Choice(["accept", "reject"]),
    default="accept",
    show_default=True,
    help="Réponse aux versements valides.",
)
@click.option("--user", default="", help="Compte exigé (As@lae, HTTP Basic) ; vide : aucun.")
@click.option("--password", default="", help="Mot de passe de ce compte.")
def sae(port: int, host: str, reply_delay: float, decision: str, user: str, password: str) -> None:
    """Système d'archivage électronique simulé (protocoles Vitam et As@lae, SEDA 2.3)."""
    from devstack.simulators.sae_server import serve_sae

    try:
        serve_sae(
            host=host,
            port=port,
            reply_delay=reply_delay,
            decision=decision,
            username=user,
            password=password,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
