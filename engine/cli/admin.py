"""`dematflow db|tenants|users|processes|audit`: platform administration."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from engine.cli.common import fail, one_line_errors, settings
from engine.cli.procedure_versions import VERSION_COMMANDS
from engine.domain.model import Actor

if TYPE_CHECKING:
    from engine.bootstrap import Platform

OPERATOR = Actor.system("cli")


@click.group("db")
def db() -> None:
    """Base de données."""


@db.command("upgrade")
@one_line_errors
def db_upgrade() -> None:
    """Apply the schema migrations and deploy the procedures of processes_dir."""
    from engine.bootstrap import build_platform, prepare_database

    platform = build_platform(settings())
    deployed = prepare_database(platform)
    for d in deployed:
        if d.error:
            click.echo(f"{d.procedure} NON DÉPLOYÉE : {d.error}", err=True)
        else:
            click.echo(f"{d.procedure} {d.hash[:12]} {'déployée' if d.created else 'déjà à jour'}")


@click.group("tenants")
def tenants() -> None:
    """Collectivités (tenants)."""


@tenants.command("create")
@click.option("--siren", required=True)
@click.option("--name", required=True)
@click.option(
    "--training",
    is_flag=True,
    help="Espace de formation : dossiers et actes fictifs, horloge avancée par le formateur",
)
@one_line_errors
def tenants_create(siren: str, name: str, training: bool) -> None:
    from engine.bootstrap import build_platform
    from engine.persistence.migrate import upgrade
    from engine.services import admin
    from engine.services.tenant_clock import make_training

    platform = build_platform(settings())
    upgrade(platform.db)
    with platform.uow() as uow:
        now = platform.clock()
        tenant = admin.create_tenant(uow, siren=siren, name=name, actor=OPERATOR, now=now)
        if training:
            make_training(uow, tenant=tenant.siren, actor=OPERATOR, now=now)
        uow.commit()
    kind = "espace de formation créé" if training else "collectivité créée"
    click.echo(f"{kind} : {tenant.siren} {tenant.name}")


@tenants.command("list")
@one_line_errors
def tenants_list() -> None:
    from engine.bootstrap import build_platform
    from engine.services.tenant_clock import training_tenants

    platform = build_platform(settings())
    with platform.uow() as uow:
        training = training_tenants(uow)
        for tenant in uow.tenants.all():
            mark = "\tformation" if tenant.siren in training else ""
            click.echo(f"{tenant.siren}\t{tenant.name}{mark}")


@tenants.command("training")
@click.argument("siren")
@click.option("--off", is_flag=True, help="Retirer le mode formation (collectivité sans dossier)")
@click.option("--yes", is_flag=True, help="Ne pas demander de confirmation")
@one_line_errors
def tenants_training(siren: str, off: bool, yes: bool) -> None:
    """Flag a tenant as a training space (espace de formation), or take the flag off (--off)."""
    what = "retirer le mode formation de" if off else "passer en espace de formation"
    if not yes:
        answer = click.prompt(
            f"Confirmer : {what} la collectivité {siren} ? [o/N]",
            default="n",
            show_default=False,
        )
        if str(answer).strip().lower() not in {"o", "oui"}:
            fail("abandon : rien n'a changé")
    from engine.bootstrap import build_platform
    from engine.services.tenant_clock import end_training, make_training

    platform = build_platform(settings())
    with platform.uow() as uow:
        change = end_training if off else make_training
        change(uow, tenant=siren, actor=OPERATOR, now=platform.clock())
        uow.commit()
    state = "n'est plus un espace de formation" if off else "est un espace de formation"
    click.echo(f"la collectivité {siren} {state}")


@click.group("users")
def users() -> None:
    """Comptes locaux."""


@users.command("create")
@click.option("--username", required=True)
@click.option("--name", "display_name", required=True)
@click.option("--email")
@click.option("--tenant")
@click.option("--role", "roles", multiple=True, help="agent, elu, archiviste, admin")
@click.option("--operator", is_flag=True, help="Opérateur de la plateforme (toutes collectivités)")
@click.option(
    "--password-env",
    default="DEMATFLOW_NEW_PASSWORD",
    show_default=True,
    help="Variable d'environnement contenant le mot de passe",
)
@one_line_errors
def users_create(
    username: str,
    display_name: str,
    email: str | None,
    tenant: str | None,
    roles: tuple[str, ...],
    operator: bool,
    password_env: str,
) -> None:
    from engine.bootstrap import build_platform
    from engine.services import admin

    password = os.environ.get(password_env) or click.prompt(
        "Mot de passe", hide_input=True, confirmation_prompt=True
    )
    platform = build_platform(settings())
    with platform.uow() as uow:
        admin.create_user(
            uow,
            username=username,
            display_name=display_name,
            password=password,
            email=email,
            tenant=tenant,
            roles=roles,
            is_operator=operator,
            actor=OPERATOR,
            now=platform.clock(),
        )
        uow.commit()
    click.echo(f"utilisateur créé : {username}")


@click.group("processes")
def processes() -> None:
    """Procédures (BPMN)."""


@processes.command("list")
@one_line_errors
def processes_list() -> None:
    from engine.runtime.specs import read_procedure_dir

    s = settings()
    for directory in sorted(
        p for p in s.processes_dir.iterdir() if (p / "procedure.yaml").is_file()
    ):
        bundle = read_procedure_dir(directory)
        click.echo(f"{bundle.procedure}\t{bundle.hash[:12]}\t{bundle.title}")


@processes.command("validate")
@click.argument(
    "directories", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@one_line_errors
def processes_validate(directories: tuple[Path, ...]) -> None:
    """Validate procedure folders (all of processes_dir by default)."""
    from engine.bootstrap import build_operations
    from engine.runtime.specs import parse_bundle, read_procedure_dir

    s = settings()
    targets = list(directories) or sorted(
        p for p in s.processes_dir.iterdir() if (p / "procedure.yaml").is_file()
    )
    operations = build_operations(s)
    for directory in targets:
        bundle = read_procedure_dir(directory)
        parse_bundle(bundle, operations=operations)
        click.echo(f"{bundle.procedure}: valide ({bundle.hash[:12]})")


for _command in VERSION_COMMANDS:
    processes.add_command(_command)


@click.group("audit")
def audit() -> None:
    """Journal d'audit."""


@audit.command("verify")
@click.option("--tenant", required=True)
@click.option(
    "--chain-only",
    is_flag=True,
    help="Chaîne seule, sans les sceaux du stockage ni les enregistrements (déconseillé).",
)
@one_line_errors
def audit_verify(tenant: str, chain_only: bool) -> None:
    """Check the tenant's journal: the hash chain, the Merkle seals locked in the archive store
    with their timestamps, the head extending the last seal, and the records against the
    journal. Exit 0 only when everything holds; one French line per finding otherwise."""
    from engine.bootstrap import build_platform

    platform = build_platform(settings())
    try:
        if chain_only:
            _verify_chain_only(platform, tenant)
        else:
            _verify_with_seals(platform, tenant)
    finally:
        platform.db.dispose()


def _verify_chain_only(platform: Platform, tenant: str) -> None:
    from engine.services.archives.journal_checks import verify_journal

    with platform.uow() as uow:
        report = verify_journal(uow, tenant)
    if report.intact:
        click.echo(
            f"chaîne intègre : {report.entries_checked} entrées, tête {report.head_hash[:16]}"
            " (sceaux non vérifiés)"
        )
        return
    for finding in report.findings:
        click.echo(f"entrée {finding.seq} : {finding.problem}", err=True)
    fail(f"journal altéré à partir de l'entrée {report.first_broken_seq}")


def _verify_with_seals(platform: Platform, tenant: str) -> None:
    from archiving import ArchivingError
    from engine.services.archives.journal_checks import verify_journal_completeness
    from engine.services.archives.setup import ArchiveUnavailable, archive_setup

    try:
        setup = archive_setup(platform.settings)
        full = verify_journal_completeness(platform.uow, setup, tenant)
    except (ArchiveUnavailable, ArchivingError) as exc:
        fail(f"vérification des sceaux du journal impossible : {exc}")
        return
    if full.intact:
        click.echo(
            f"journal intègre : {full.entries} entrées, tête {full.head_hash[:16]}, "
            f"{full.seals} sceau(x) vérifié(s), {full.unsealed} entrée(s) pas encore scellée(s)"
        )
        return
    for finding in full.findings:
        click.echo(finding, err=True)
    fail(
        f"journal non conforme : {len(full.findings)} anomalie(s), "
        f"{full.unsealed} entrée(s) pas encore scellée(s)"
    )


@click.group("ops")
def ops() -> None:
    """Exploitation : travail bloqué, relances."""


@ops.command("stuck")
@click.option("--limit", default=50, show_default=True)
@one_line_errors
def ops_stuck(limit: int) -> None:
    """Cases in error (with the reason) and jobs failed or dead-lettered, across tenants."""
    from engine.bootstrap import build_platform

    platform = build_platform(settings())
    with platform.uow() as uow:
        cases = uow.cases.in_error(limit=limit)
        jobs = uow.jobs.stuck(limit=limit)
    click.echo(f"{len(cases)} dossier(s) en erreur")
    for case in cases:
        click.echo(f"  {case.tenant}\t{case.id}\t{case.reference}\t{case.procedure}\t{case.error}")
    click.echo(f"{len(jobs)} traitement(s) en échec ou abandonné(s)")
    for job in jobs:
        click.echo(
            f"  {job.tenant}\t{job.case_id}\t{job.operation}\t{job.state.value}"
            f"\t{job.attempts} tentative(s), {job.interruptions} interrompue(s)\t{job.error}"
        )
    if cases:
        click.echo("Relancer un dossier : dematflow cases retry --tenant SIREN ID_DOSSIER")
