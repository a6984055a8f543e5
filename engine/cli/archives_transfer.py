"""`dematflow archives transfer ...`: the tenant's SAE, versements and elimination requests."""

from __future__ import annotations

from typing import Any

import click

from engine.cli.common import actor_for, echo_json, fail, one_line_errors

__all__ = ["group"]


@click.group("transfer")
def group() -> None:
    """Versement au SAE des Archives départementales (Vitam ou As@lae)."""


def _row(transfer: Any) -> dict[str, Any]:
    return {
        "id": str(transfer.id),
        "package": transfer.package_id,
        "kind": transfer.kind.value,
        "state": transfer.state.value,
        "label": transfer.state.label,
        "protocol": transfer.protocol,
        "message_identifier": transfer.message_identifier,
        "reference": transfer.reference,
        "sae_ids": list(transfer.sae_ids),
        "reasons": list(transfer.reasons),
        "attempts": transfer.attempts,
        "requested_by": transfer.requested_by,
        "requested_at": transfer.requested_at.isoformat(),
    }


@group.command("configure")
@click.option("--tenant", required=True, help="SIREN de la collectivité.")
@click.option("--kind", type=click.Choice(["vitam", "asalae"]), required=True)
@click.option("--url", required=True, help="Adresse racine du SAE (https://…).")
@click.option("--vitam-tenant", default="0", show_default=True, help="Vitam : X-Tenant-Id.")
@click.option("--context", "context_id", default="DEFAULT_WORKFLOW", show_default=True)
@click.option("--username", default="", help="As@lae : compte de service.")
@click.option("--secret-ref", default="", help="As@lae : variable DEMATFLOW_SAE_… du mot de passe.")
@click.option("--tls-cert", default="", help="Vitam : certificat client (PEM).")
@click.option("--tls-key", default="", help="Vitam : clé du certificat client (PEM).")
@click.option("--tls-ca", default="", help="AC du certificat serveur du SAE (PEM).")
@click.option("--allow-http", is_flag=True, help="Accepter http:// (simulateur local).")
@one_line_errors
def configure(allow_http: bool, tenant: str, **form: str) -> None:
    """Indiquer le SAE de la collectivité (réglage de l'opérateur, certificats compris)."""
    from engine.bootstrap import build_platform
    from engine.cli.common import settings
    from engine.domain.model import Actor
    from engine.services.archives.transfer import parse_endpoint, save_endpoint

    platform = build_platform(settings())
    try:
        endpoint = parse_endpoint(form, tenant=tenant, operator=True, allow_http=allow_http)
        with platform.uow() as uow:
            save_endpoint(
                uow, endpoint, actor=Actor.system("operateur"), now=platform.clock(), operator=True
            )
            uow.commit()
    finally:
        platform.db.dispose()
    echo_json({"tenant": tenant, "kind": endpoint.kind, "url": endpoint.url})


@group.command("request")
@click.option("--tenant", required=True, help="SIREN de la collectivité.")
@click.option("--package", "package_id", required=True, help="Paquet à verser.")
@click.option("--user", "username", required=True, help="Archiviste qui demande le versement.")
@click.option("--comment", default="", help="Commentaire.")
@one_line_errors
def request(tenant: str, package_id: str, username: str, comment: str) -> None:
    """Demander le versement d'un paquet archivé au SAE (envoyé par le worker)."""
    from engine.bootstrap import build_platform
    from engine.cli.common import settings
    from engine.services.archives.transfer import request_transfer

    platform = build_platform(settings())
    try:
        actor = actor_for(platform, username, tenant)
        with platform.uow() as uow:
            transfer = request_transfer(
                uow, tenant, package_id, actor=actor, now=platform.clock(), comment=comment
            )
            uow.commit()
    finally:
        platform.db.dispose()
    echo_json(_row(transfer))


@group.command("run")
@click.option("--batch", type=click.IntRange(1, 10_000), default=200, show_default=True)
@one_line_errors
def run(batch: int) -> None:
    """Envoyer les versements dus et relever les réponses du SAE, tout de suite."""
    from engine.bootstrap import build_platform
    from engine.cli.common import settings_with_store
    from engine.jobs.sae_polling import run_sae_exchanges
    from engine.services.archives.setup import archive_setup

    platform = build_platform(settings_with_store())
    try:
        report = run_sae_exchanges(
            platform.uow, archive_setup(platform.settings), now=platform.clock(), batch=batch
        )
    finally:
        platform.db.dispose()
    echo_json(report.__dict__)


@group.command("status")
@click.option("--tenant", required=True, help="SIREN de la collectivité.")
@click.option("--package", "package_id", default=None, help="Un paquet (tous par défaut).")
@one_line_errors
def status(tenant: str, package_id: str | None) -> None:
    """État des échanges avec le SAE (motifs de refus compris)."""
    from engine.bootstrap import build_platform
    from engine.cli.common import settings

    platform = build_platform(settings())
    try:
        with platform.uow() as uow:
            endpoint = uow.sae.endpoint(tenant)
            rows = (
                uow.sae.for_package(tenant, package_id)
                if package_id
                else uow.sae.recent(tenant, limit=200)
            )
    finally:
        platform.db.dispose()
    if endpoint is None and not rows:
        fail("aucun SAE n'est configuré pour cette collectivité (archives transfer configure)")
    echo_json([_row(r) for r in rows])
