"""`dematflow processes versions|deploy|migrate-plan|migrate|rollback`: procedure versions
and the migration of running cases (commands of the `processes` group)."""

from __future__ import annotations

import uuid
from pathlib import Path

import click

from engine.bootstrap import build_operations, build_platform
from engine.cli.common import fail, one_line_errors, settings
from engine.domain.errors import DematflowError
from engine.domain.model import Actor
from engine.runtime.specs import read_procedure_dir
from engine.services import procedure_versions as pv

OPERATOR = Actor.system("cli")


def _scope(tenants: tuple[str, ...] | None) -> str:
    return "toutes les collectivités" if tenants is None else ", ".join(tenants)


@click.command("versions")
@click.option("--procedure", help="Une seule procédure.")
@one_line_errors
def versions(procedure: str | None) -> None:
    """Versions deployed (number, date, hash, for whom) and the one each tenant starts on."""
    platform = build_platform(settings())
    with platform.uow() as uow:
        all_versions, rows = pv.tenant_versions(uow)
    for version in all_versions:
        if procedure and version.procedure != procedure:
            continue
        click.echo(
            f"{version.procedure}\t{version.label}\t{version.deployed_at:%d/%m/%Y %H:%M}"
            f"\t{version.hash[:12]}\t{_scope(version.tenants)}"
        )
    click.echo("collectivité\tprocédure\tversion active\tdossiers en cours")
    for row in rows:
        if procedure and row.procedure != procedure:
            continue
        active = "désactivée" if row.active is None else row.active.label
        if row.pinned:
            active += " (épinglée)"
        running = ", ".join(f"{label} : {n}" for label, n in sorted(row.running.items())) or "0"
        click.echo(f"{row.tenant}\t{row.procedure}\t{active}\t{running}")


@click.command("deploy")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--tenant", help="Déployer pour cette collectivité seulement (SIREN).")
@click.option("--all-tenants", "all_tenants", is_flag=True, help="Déployer pour toutes.")
@one_line_errors
def deploy(directory: Path, tenant: str | None, all_tenants: bool) -> None:
    """Validate and deploy a new version of a procedure folder, for one tenant or all."""
    if bool(tenant) == all_tenants:
        fail("précisez --tenant SIREN ou --all-tenants")
    s = settings()
    platform = build_platform(s)
    bundle = read_procedure_dir(directory)
    with platform.uow() as uow:
        deployed = pv.deploy_version(
            uow,
            bundle,
            operations=build_operations(s),
            tenant=tenant,
            actor=OPERATOR,
            now=platform.clock(),
        )
        uow.commit()
    scope = f"la collectivité {tenant}" if tenant else "toutes les collectivités"
    if not deployed.recorded:
        click.echo(f"{deployed.procedure} v{deployed.number} déjà déployée pour {scope}")
        return
    click.echo(
        f"{deployed.procedure} v{deployed.number} ({deployed.hash[:12]}) déployée pour {scope} ; "
        "les dossiers en cours gardent leur version"
    )


def _tenants(values: tuple[str, ...]) -> list[str] | None:
    return list(values) or None


@click.command("migrate-plan")
@click.option("--procedure", required=True)
@click.option("--to", "target", required=True, help="Version cible : numéro (3, v3) ou empreinte.")
@click.option("--tenant", "tenants", multiple=True, help="SIREN (toutes par défaut).")
@one_line_errors
def migrate_plan(procedure: str, target: str, tenants: tuple[str, ...]) -> None:
    """Dry run: for each running case, whether it can move to the version and what follows."""
    platform = build_platform(settings())
    with platform.uow() as uow:
        plan = pv.plan_migration(uow, procedure=procedure, target=target, tenants=_tenants(tenants))
    click.echo(
        f"{plan.procedure} → {plan.target.label} : {len(plan.cases)} dossier(s) à examiner, "
        f"{len(plan.migrable)} migrable(s), {plan.already} déjà dans cette version"
    )
    for case in plan.cases:
        verdict = "migrable" if case.preview.migrable else "NON MIGRABLE"
        click.echo(f"{case.tenant}\t{case.case_id}\t{case.reference}\t{case.from_label}\t{verdict}")
        for wait in case.preview.waits:
            present = "présente" if wait.exists else "ABSENTE"
            click.echo(f"  attente {wait.kind} « {wait.name} » ({wait.element}) : {present}")
        for reason in case.preview.reasons:
            click.echo(f"  raison : {reason}")
        for missing in case.preview.missing_data:
            click.echo(f"  donnée manquante : {missing}")
        for effect in case.preview.effects:
            click.echo(f"  effet : {effect}")


@click.command("migrate")
@click.option("--procedure", required=True)
@click.option("--to", "target", required=True, help="Version cible : numéro (3, v3) ou empreinte.")
@click.option("--tenant", "tenants", multiple=True, help="SIREN (toutes par défaut).")
@click.option(
    "--case", "cases", multiple=True, help="Identifiant de dossier (tous les migrables par défaut)."
)
@one_line_errors
def migrate(procedure: str, target: str, tenants: tuple[str, ...], cases: tuple[str, ...]) -> None:
    """Move running cases to the version, each in its own transaction with a journal entry;
    a case that is not migrable is left as it is. Exit 1 when one could not move."""
    platform = build_platform(settings())
    with platform.uow() as uow:
        plan = pv.plan_migration(uow, procedure=procedure, target=target, tenants=_tenants(tenants))
    wanted = {c.lower() for c in cases}
    chosen = [c for c in plan.cases if (str(c.case_id) in wanted if wanted else c.preview.migrable)]
    unknown = wanted - {str(c.case_id) for c in chosen}
    failures, moved = len(unknown), 0
    for case_id in sorted(unknown):
        click.echo(f"{case_id} : dossier en cours introuvable pour cette migration", err=True)
    for case in chosen:
        try:
            with platform.uow() as uow:
                pv.apply_migration(
                    uow,
                    tenant=case.tenant,
                    case_id=case.case_id,
                    target=plan.target.hash,
                    actor=OPERATOR,
                    now=platform.clock(),
                )
                uow.commit()
        except DematflowError as exc:
            failures += 1
            click.echo(f"{case.reference} ({case.tenant}) : non migré : {exc}", err=True)
            continue
        moved += 1
        click.echo(f"{case.reference} ({case.tenant}) : {case.from_label} → {plan.target.label}")
    click.echo(f"{moved} dossier(s) migré(s)")
    if failures:
        fail(f"{failures} dossier(s) non migré(s)")


@click.command("rollback")
@click.option("--tenant", required=True)
@click.argument("case_id", type=click.UUID)
@one_line_errors
def rollback(tenant: str, case_id: uuid.UUID) -> None:
    """Put a migrated case back on its previous version, exactly as it was (if it has not
    moved since)."""
    platform = build_platform(settings())
    with platform.uow() as uow:
        migration = pv.rollback_migration(
            uow, tenant=tenant, case_id=case_id, actor=OPERATOR, now=platform.clock()
        )
        uow.commit()
    click.echo(f"dossier {case_id} revenu à sa version précédente ({migration.from_hash[:12]})")


VERSION_COMMANDS = (versions, deploy, migrate_plan, migrate, rollback)
"""Added to the `processes` group by `engine.cli.admin`."""
