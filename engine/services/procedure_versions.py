"""Procedure versions: deploy a new version for one tenant or all, see which version each tenant
starts new cases on, and move running cases to another version (dry run, per-case apply in
its own transaction, rollback), each move journaled in the case's tenant journal."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from engine.domain.errors import Conflict, DematflowError, InvalidInput, NotFound
from engine.domain.model import Actor, Case, CaseStatus, DumpedState
from engine.domain.versions import CaseMigration, KeptState, ProcedureVersion
from engine.persistence.uow import UnitOfWork
from engine.runtime.facade import Snapshot
from engine.runtime.migration import MigrationPreview, migrate_case, restore_previous
from engine.runtime.specs import OperationCatalog, ProcessBundle, bundle_from_files, parse_bundle
from engine.services.steps import _summary, _update_waits, load_process, save_step
from engine.services.tenant_settings import spec_to_start

__all__ = [
    "CasePlan",
    "DeployedVersion",
    "MigrationPlan",
    "TenantVersion",
    "apply_migration",
    "deploy_version",
    "find_version",
    "plan_migration",
    "recent_migrations",
    "rollback_migration",
    "stored_bundle",
    "tenant_versions",
    "version_label",
]


# Versions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeployedVersion:
    procedure: str
    hash: str
    number: int
    created: bool
    """False when this content was already stored (an older version deployed again)."""
    recorded: bool
    """False when it was already deployed for that scope: nothing changed."""
    tenant: str | None
    title: str = ""


def deploy_version(
    uow: UnitOfWork,
    bundle: ProcessBundle,
    *,
    operations: OperationCatalog,
    tenant: str | None,
    actor: Actor,
    now: datetime,
) -> DeployedVersion:
    """Validate and deploy a version for `tenant` (None: every tenant); running cases keep
    theirs. Journaled in each tenant it reaches."""
    if tenant is not None and uow.tenants.get(tenant) is None:
        raise NotFound(f"Collectivité inconnue : {tenant}.")
    parsed = parse_bundle(bundle, operations=operations)
    created = uow.specs.save(
        digest=bundle.hash,
        procedure=bundle.procedure,
        process_id=bundle.main_process,
        title=parsed.bundle.title,
        files=dict(bundle.files),
        now=now,
    )
    number, recorded = uow.versions.record_deployment(
        spec_hash=bundle.hash, procedure=bundle.procedure, tenant=tenant, by=actor.user_id, now=now
    )
    if recorded:
        reached = [tenant] if tenant is not None else [t.siren for t in uow.tenants.all()]
        for siren in reached:
            uow.journal.append(
                tenant=siren,
                kind="procedure.version_deployed",
                case_id=None,
                actor=actor.user_id,
                payload={
                    "procedure": bundle.procedure,
                    "version": number,
                    "spec": bundle.hash,
                    "scope": "collectivité" if tenant is not None else "toutes",
                },
                now=now,
            )
    return DeployedVersion(
        bundle.procedure, bundle.hash, number, created, recorded, tenant, parsed.bundle.title
    )


@dataclass(frozen=True)
class TenantVersion:
    """The version a tenant's new cases of a procedure start on, and its running cases."""

    tenant: str
    tenant_name: str
    procedure: str
    active: ProcedureVersion | None
    """None when the tenant has disabled the procedure."""
    pinned: bool
    running: dict[str, int]
    """Running cases by the version label they are on."""


def tenant_versions(uow: UnitOfWork) -> tuple[list[ProcedureVersion], list[TenantVersion]]:
    """Every version of every procedure, and per tenant and procedure the active version."""
    versions = uow.versions.versions()
    by_hash = {v.hash: v for v in versions}
    counts = uow.versions.running_counts()
    rows: list[TenantVersion] = []
    procedures = sorted({v.procedure for v in versions})
    for tenant in uow.tenants.all():
        choices = uow.tenant_admin.choices(tenant.siren)
        for procedure in procedures:
            try:
                active = by_hash.get(spec_to_start(uow, tenant.siren, procedure).hash)
            except (Conflict, NotFound):
                active = None
            running = {
                (by_hash[h].label if h in by_hash else h[:12]): n
                for (siren, proc, h), n in counts.items()
                if siren == tenant.siren and proc == procedure
            }
            choice = choices.get(procedure)
            pinned = bool(choice and choice.pinned_hash)
            rows.append(
                TenantVersion(tenant.siren, tenant.name, procedure, active, pinned, running)
            )
    return versions, rows


def stored_bundle(uow: UnitOfWork, spec_hash: str) -> ProcessBundle:
    """The files of a stored version, as deployed (for deploying it for more tenants)."""
    if not spec_hash or uow.tenant_admin.spec(spec_hash) is None:
        raise NotFound("Version inconnue.")
    bundle = bundle_from_files(uow.specs.files(spec_hash))
    if bundle.hash != spec_hash:
        raise Conflict(f"définition {spec_hash[:12]} altérée (empreinte différente)")
    return bundle


def recent_migrations(uow: UnitOfWork, limit: int = 50) -> list[CaseMigration]:
    return uow.versions.migrations(limit=limit)


def find_version(uow: UnitOfWork, procedure: str, wanted: str) -> ProcedureVersion:
    """A version of `procedure` by number (`3`, `v3`) or by hash (12 characters or more)."""
    versions = uow.versions.versions(procedure)
    if not versions:
        raise NotFound(f"Procédure inconnue « {procedure} ».")
    text = wanted.strip().lower().removeprefix("v")
    if text.isdigit() and len(text) < 12:
        found = [v for v in versions if v.number == int(text)]
    elif len(text) >= 12:
        found = [v for v in versions if v.hash.startswith(text)]
    else:
        found = []
    if len(found) != 1:
        known = ", ".join(v.label for v in versions)
        raise NotFound(f"Version « {wanted} » inconnue pour « {procedure} » (versions : {known}).")
    return found[0]


# Migrating running cases --------------------------------------------------------------------


@dataclass(frozen=True)
class CasePlan:
    tenant: str
    case_id: uuid.UUID
    reference: str
    title: str
    from_hash: str
    from_label: str
    preview: MigrationPreview


@dataclass(frozen=True)
class MigrationPlan:
    procedure: str
    target: ProcedureVersion
    cases: tuple[CasePlan, ...]
    already: int
    """Running cases already on the target version."""

    @property
    def migrable(self) -> tuple[CasePlan, ...]:
        return tuple(c for c in self.cases if c.preview.migrable)


def plan_migration(
    uow: UnitOfWork,
    *,
    procedure: str,
    target: str,
    tenants: Sequence[str] | None = None,
) -> MigrationPlan:
    """Dry run: what migrating each running case of `procedure` (in `tenants`, default all) to
    the version `target` would do. Nothing is written."""
    version = find_version(uow, procedure, target)
    labels = {v.hash: v.label for v in uow.versions.versions(procedure)}
    plans: list[CasePlan] = []
    already = 0
    for row in uow.versions.running_cases(procedure, tenants):
        if row.spec_hash == version.hash:
            already += 1
            continue
        plans.append(
            CasePlan(
                tenant=row.tenant,
                case_id=row.id,
                reference=row.reference,
                title=row.title,
                from_hash=row.spec_hash,
                from_label=labels.get(row.spec_hash, row.spec_hash[:12]),
                preview=_preview(uow, row.tenant, row.id, version)[0],
            )
        )
    return MigrationPlan(procedure, version, tuple(plans), already)


def _preview(
    uow: UnitOfWork, tenant: str, case_id: uuid.UUID, version: ProcedureVersion
) -> tuple[MigrationPreview, object, Case, DumpedState]:
    case, header, state_format, tasks = uow.cases.get_with_state(tenant, case_id)
    dumped = DumpedState(header, tasks, state_format)
    if not version.visible_to(tenant):
        refused = MigrationPreview(
            False, (), (f"la version {version.label} n'est pas déployée pour cette collectivité",)
        )
        return refused, None, case, dumped
    old = load_process(uow, case.spec_hash)
    new = load_process(uow, version.hash)
    try:
        preview, runtime = migrate_case(old, new, dumped)
    except (DematflowError, ValueError) as exc:  # the case's own state cannot be read
        return (
            MigrationPreview(False, (), (f"état du dossier illisible : {exc}",)),
            None,
            case,
            dumped,
        )
    return preview, runtime, case, dumped


def apply_migration(
    uow: UnitOfWork,
    *,
    tenant: str,
    case_id: uuid.UUID,
    target: str,
    actor: Actor,
    now: datetime,
) -> CasePlan:
    """Move one running case to the version `target` (a hash), keeping its state as it was
    for a rollback; refused (Conflict, nothing written) when the case is not migrable."""
    spec_row = uow.tenant_admin.spec(target)
    if spec_row is None:
        raise NotFound("Version inconnue.")
    version = find_version(uow, spec_row.procedure, target)
    preview, runtime, case, dumped = _preview(uow, tenant, case_id, version)
    if case.procedure != version.procedure:
        raise InvalidInput("Cette version est celle d'une autre procédure.")
    if case.status != CaseStatus.RUNNING:
        raise Conflict("Seul un dossier en cours peut changer de version.")
    if case.spec_hash == version.hash:
        raise Conflict(f"Le dossier {case.reference} est déjà en version {version.label}.")
    if not preview.migrable or runtime is None:
        raise Conflict(f"Dossier {case.reference} non migrable : " + " ; ".join(preview.reasons))
    from_label = _label(uow, case.spec_hash)
    before = restore_previous(load_process(uow, case.spec_hash), dumped).snapshot()
    # The ready tasks are indexed again from the new version (titles and forms may change).
    uow.cases.change_human_tasks(case, added=[], removed=[t.id for t in before.ready])
    updated = save_step(
        uow,
        dataclasses.replace(case, spec_hash=version.hash),
        runtime,  # type: ignore[arg-type]
        now=now,
        expected_version=case.version,
        before=dataclasses.replace(before, ready=()),
        stored_tasks=dumped.tasks,
    )
    uow.versions.set_case_spec(tenant, case.id, version.hash, updated.version)
    migration = CaseMigration(
        id=uuid.uuid4(),
        case_id=case.id,
        tenant=tenant,
        from_hash=case.spec_hash,
        to_hash=version.hash,
        previous_version=case.version,
        migrated_version=updated.version,
        migrated_by=actor.user_id,
        migrated_at=now,
    )
    kept = KeptState(case.status.value, dumped.format, dumped.header, dict(dumped.tasks))
    uow.versions.add_migration(migration, kept)
    uow.journal.append(
        tenant=tenant,
        kind="case.migrated",
        case_id=case.id,
        actor=actor.user_id,
        payload={
            "procedure": case.procedure,
            "from": case.spec_hash,
            "to": version.hash,
            "from_version": from_label,
            "to_version": version.label,
            "migration": str(migration.id),
        },
        now=now,
    )
    return CasePlan(
        tenant, case.id, case.reference, case.title, case.spec_hash, from_label, preview
    )


def rollback_migration(
    uow: UnitOfWork, *, tenant: str, case_id: uuid.UUID, actor: Actor, now: datetime
) -> CaseMigration:
    """Put a migrated case back exactly as it was before its last migration (state rows,
    version of its procedure, status), provided it has not moved since."""
    migration = uow.versions.last_migration(tenant, case_id)
    if migration is None or migration.rolled_back_at is not None:
        raise Conflict("Ce dossier n'a pas de migration à annuler.")
    case, header, state_format, tasks = uow.cases.get_with_state(tenant, case_id)
    if case.version != migration.migrated_version or case.spec_hash != migration.to_hash:
        raise Conflict(
            f"Le dossier {case.reference} a avancé depuis sa migration : "
            "revenir à la version précédente effacerait ces étapes."
        )
    kept = uow.versions.kept_state(migration.id)
    current = restore_previous(
        load_process(uow, case.spec_hash), DumpedState(header, tasks, state_format)
    )
    previous = restore_previous(
        load_process(uow, migration.from_hash), DumpedState(kept.header, kept.tasks, kept.format)
    )
    now_waits = current.snapshot()
    old_waits = previous.snapshot() if kept.status == CaseStatus.RUNNING.value else _EMPTY
    restored = dataclasses.replace(
        case,
        status=CaseStatus(kept.status),
        data=_summary(previous.data),
        current_steps=old_waits.current_steps,
        updated_at=now,
        version=case.version + 1,
    )
    uow.cases.update(
        restored,
        expected_version=case.version,
        state=DumpedState(kept.header, kept.tasks, kept.format),
        stored_tasks=tasks,
    )
    uow.cases.change_human_tasks(case, added=[], removed=[t.id for t in now_waits.ready])
    _update_waits(uow, restored, dataclasses.replace(now_waits, ready=()), old_waits, now)
    uow.versions.set_case_spec(tenant, case_id, migration.from_hash, restored.version)
    uow.versions.mark_rolled_back(migration.id, by=actor.user_id, now=now)
    uow.journal.append(
        tenant=tenant,
        kind="case.migration_rolled_back",
        case_id=case_id,
        actor=actor.user_id,
        payload={
            "procedure": case.procedure,
            "from": migration.to_hash,
            "to": migration.from_hash,
            "from_version": _label(uow, migration.to_hash),
            "to_version": _label(uow, migration.from_hash),
            "migration": str(migration.id),
        },
        now=now,
    )
    return dataclasses.replace(migration, rolled_back_by=actor.user_id, rolled_back_at=now)


_EMPTY = Snapshot((), (), (), (), ())


def version_label(uow: UnitOfWork, spec_hash: str) -> str:
    """`v3` for a numbered version, else the start of its hash (for a case page)."""
    return _label(uow, spec_hash)


def _label(uow: UnitOfWork, spec_hash: str) -> str:
    spec_row = uow.tenant_admin.spec(spec_hash)
    if spec_row is None:
        return spec_hash[:12]
    for version in uow.versions.versions(spec_row.procedure):
        if version.hash == spec_hash:
            return version.label
    return spec_hash[:12]
