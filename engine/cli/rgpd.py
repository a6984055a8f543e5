"""`dematflow rgpd`: personal data of closed cases (the purge the beat runs four times a day, by
hand or dry), and the processing register a tenant's procedures declare."""

from __future__ import annotations

from datetime import datetime

import click

from engine.cli.common import echo_json, one_line_errors, settings


@click.group()
def rgpd() -> None:
    """Données personnelles (RGPD) : purge des dossiers clos, registre des traitements."""


@rgpd.command()
@click.option("--dry-run", is_flag=True, help="Lister ce qui est dû sans rien effacer.")
@click.option("--tenant", default=None, help="Une seule collectivité (SIREN).")
@click.option(
    "--at", "at", default=None, help="Date-heure ISO avec fuseau (par défaut : maintenant)."
)
@one_line_errors
def purge(dry_run: bool, tenant: str | None, at: str | None) -> None:
    """Anonymiser les données personnelles dues des dossiers clos (journalisé)."""
    from engine.bootstrap import build_platform
    from engine.jobs.personal_data import purge_personal_data

    now: datetime | None = None
    if at is not None:
        now = datetime.fromisoformat(at)
        if now.tzinfo is None:
            raise ValueError("--at : indiquez le fuseau (par exemple 2027-03-01T00:00:00+01:00)")
    platform = build_platform(settings())
    try:
        report = purge_personal_data(
            platform.uow, now=now or platform.clock(), dry_run=dry_run, tenant=tenant
        )
    finally:
        platform.db.dispose()
    echo_json(
        {
            "a_blanc": report.dry_run,
            "dus": [
                {
                    "collectivite": siren,
                    "dossier": due.reference,
                    "procedure": due.procedure,
                    "donnees": [f.path for f in due.fields],
                }
                for siren, due in report.due
            ],
            "anonymises": [
                {
                    "collectivite": siren,
                    "dossier": done.reference,
                    "donnees": list(done.paths),
                    "documents_effaces": done.documents,
                }
                for siren, done in report.purged
            ],
            "echecs": [
                {"collectivite": siren, "dossier": str(case_id), "erreur": error}
                for siren, case_id, error in report.failed
            ],
        }
    )
    if report.failed:
        raise SystemExit(1)


@rgpd.command()
@click.option("--tenant", required=True, help="Collectivité (SIREN).")
@one_line_errors
def register(tenant: str) -> None:
    """Registre des traitements de la collectivité (JSON), tiré des déclarations."""
    from dataclasses import asdict

    from engine.bootstrap import build_platform
    from engine.services.personal_access import processing_register

    platform = build_platform(settings())
    try:
        with platform.uow() as uow:
            processings = processing_register(uow, tenant)
    finally:
        platform.db.dispose()
    echo_json([asdict(p) for p in processings])
