"""`archiving.seal_case`: the closed case becomes a sealed package stored under Object Lock.

The first round freezes what the package is made of (closing time, journal extent, signature
validation reports) in the `archive_packages` row, so every retry builds the same bytes and
the store keeps a single copy. The case stays visibly waiting (row `en_attente` with the last
error, job retried) until every object has been written, read back and compared.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from archiving import (
    ArchivingError,
    InvalidManifestError,
    InvalidPackageInputError,
    ObjectStore,
    StorageError,
    StorageUnavailable,
    StoredPackage,
    build_package,
    prepare_tenant_bucket,
    store_package,
)
from archiving.model import add_years
from archiving.store import CopiedPackage, copy_package
from engine.domain.archives import ARCHIVED, TRANSFERRED, WAITING, ArchivedPackage
from engine.domain.errors import InvalidInput
from engine.domain.journal import utc_iso
from engine.operations.archive_contents import (
    Gathered,
    act_number,
    dua_start,
    freeze,
    gather,
    package_id_for,
    package_spec,
)
from engine.operations.base import (
    Done,
    Operation,
    OperationContext,
    OperationFailed,
    OperationRetry,
    RetryLater,
    RunAgain,
    Verdict,
    param,
)
from engine.persistence.uow import UnitOfWork
from engine.services.archives.retention import retention_rule
from engine.services.archives.setup import ArchiveSetup, ArchiveUnavailable, archive_setup
from engine.services.signing_setup import signing_setup
from engine.services.tenant_clock import tenant_clock
from engine.services.tenant_settings import ArchiveService, read_settings
from signatures import SignatureError


def _typology(value: Any) -> str:
    typologie = str(value or "").strip()
    if not typologie:
        raise OperationFailed("archivage_impossible", "Typologie d'archivage manquante.")
    return typologie


@dataclass(frozen=True)
class SealCaseParams:
    typologie: str = param(_typology, required=True)
    """The records type, which gives the retention rule (DUA) and final action."""


@dataclass(frozen=True)
class FreezePlan:
    """First round: fix what the package is made of."""

    gathered: Gathered
    typologie: str
    rule: dict[str, Any]
    closed_at: datetime
    """The real time (never a training tenant's): the package's dates must not follow its seal's."""
    trust_roots: tuple[bytes, ...]
    archive_service: ArchiveService | None
    """The archives service the tenant named (its settings), frozen with the package."""
    clock_offset: timedelta
    """A training space's clock advance (zero for a real tenant), frozen with the package."""


@dataclass(frozen=True)
class StorePlan:
    """Next rounds: build the package from the frozen row, seal it and store it."""

    package: ArchivedPackage
    gathered: Gathered
    tenant_name: str
    setup: Callable[[], ArchiveSetup]
    archive_service: ArchiveService | None
    """The tenant's archives service now (for a package frozen before it was kept)."""


@dataclass(frozen=True)
class Frozen:
    plan: FreezePlan
    frozen: dict[str, Any]


@dataclass(frozen=True)
class Waiting:
    package: ArchivedPackage
    message: str


@dataclass(frozen=True)
class Stored:
    package: ArchivedPackage
    stored: StoredPackage
    secondary: CopiedPackage | None = None
    """The second copy, when a secondary store is configured."""


def _result(package: ArchivedPackage) -> dict[str, Any]:
    return {
        "paquet": package.package_id,
        "statut": "archivé",
        "sceau_sha512": package.seal_sha512,
        "fin_dua": package.dua_end.isoformat(),
        "sort_final": package.final_action,
    }


def _trust_roots(ctx: OperationContext) -> tuple[bytes, ...]:
    try:
        return ctx.resources.get(signing_setup).trust_roots
    except (OSError, ValueError) as exc:
        raise OperationRetry(f"PKI indisponible : {exc}") from exc


def _prepare(
    uow: UnitOfWork, ctx: OperationContext, params: SealCaseParams
) -> FreezePlan | StorePlan | Done:
    package = uow.archives.for_case(ctx.tenant, ctx.case_id)
    if package is not None and package.state in (ARCHIVED, TRANSFERRED):
        return Done(_result(package))
    gathered = gather(uow, ctx.tenant, ctx.case_id)
    if package is None:
        try:
            rule = retention_rule(uow, ctx.tenant, params.typologie)
        except InvalidInput as exc:
            raise OperationFailed("archivage_impossible", str(exc)) from exc
        return FreezePlan(
            gathered,
            params.typologie,
            asdict(rule),
            ctx.real_now,
            _trust_roots(ctx),
            read_settings(uow, ctx.tenant).archives,
            tenant_clock(uow, ctx.tenant).offset,
        )
    tenant = uow.tenants.get(ctx.tenant)
    return StorePlan(
        package,
        gathered,
        tenant.name if tenant else ctx.tenant,
        lambda: ctx.resources.get(archive_setup),
        read_settings(uow, ctx.tenant).archives,
    )


def _act(plan: FreezePlan | StorePlan) -> Frozen | Waiting | Stored:
    if isinstance(plan, FreezePlan):
        frozen = freeze(
            plan.gathered,
            plan.typologie,
            plan.closed_at,
            plan.trust_roots,
            plan.archive_service,
            plan.clock_offset,
        )
        return Frozen(plan, {**frozen, "rule": plan.rule})
    try:
        config = plan.setup()
    except ArchiveUnavailable as exc:
        return Waiting(plan.package, str(exc))
    try:
        return Stored(plan.package, *_store(plan, config))
    except (InvalidManifestError, InvalidPackageInputError) as exc:
        raise OperationFailed("archivage_impossible", str(exc)) from exc
    except (ArchivingError, SignatureError) as exc:
        return Waiting(plan.package, f"Archivage en attente : {exc}")


def _store(plan: StorePlan, config: ArchiveSetup) -> tuple[StoredPackage, CopiedPackage | None]:
    with tempfile.TemporaryDirectory(prefix="dematflow-sip-") as tmp:
        work = Path(tmp)
        (work / "sources").mkdir()
        spec = package_spec(
            plan.package,
            plan.gathered,
            work / "sources",
            plan.tenant_name,
            config.archival_agency,
            plan.archive_service,
        )
        built = build_package(spec, work, sealer=config.sealer)
        with config.store() as store:
            bucket = config.bucket(plan.package.tenant)
            prepare_tenant_bucket(store, bucket)
            stored = store_package(store, bucket, built)
            if config.secondary_s3 is None:
                return stored, None
            return stored, _second_copy(config, store, stored, plan.package.tenant)


def _second_copy(
    config: ArchiveSetup, store: ObjectStore, stored: StoredPackage, tenant: str
) -> CopiedPackage:
    """Copy the package just stored and verified to the second store, from the primary's bytes
    (so both copies hold the same seal even when a retry sealed anew). Any failure keeps the
    package waiting: it is never "archivé" with one copy."""
    try:
        with config.secondary_store() as second:
            target = config.secondary_bucket(tenant)
            prepare_tenant_bucket(second, target)
            return copy_package(
                store, stored.bucket, second, target, stored.package_id, stored.retain_until
            )
    except StorageUnavailable as exc:
        raise StorageUnavailable(f"copie secondaire non faite : {exc}") from exc
    except StorageError as exc:
        raise StorageError(f"copie secondaire non faite : {exc}") from exc


def _record(uow: UnitOfWork, ctx: OperationContext, outcome: Frozen | Waiting | Stored) -> Verdict:
    if isinstance(outcome, Frozen):
        if uow.archives.for_case(ctx.tenant, ctx.case_id) is None:
            _new_package(uow, ctx, outcome)
        return RunAgain()
    if isinstance(outcome, Waiting):
        uow.archives.note_failure(ctx.tenant, outcome.package.package_id, outcome.message, ctx.now)
        return RetryLater(outcome.message)
    return _archived(uow, ctx, outcome.package, outcome.stored, outcome.secondary)


def _new_package(uow: UnitOfWork, ctx: OperationContext, outcome: Frozen) -> None:
    frozen, gathered = outcome.frozen, outcome.plan.gathered
    rule = frozen["rule"]
    closed = datetime.fromisoformat(frozen["closed_at"])
    case = gathered.case
    number = act_number(case, gathered.acks)
    start, _event = dua_start(closed, frozen)
    package = ArchivedPackage(
        tenant=ctx.tenant,
        package_id=package_id_for(case),
        case_id=case.id,
        procedure=case.procedure,
        typologie=frozen["typologie"],
        title=case.title,
        act_number=number,
        actes_id=gathered.acks[-1][1] if gathered.acks else None,
        closed_at=closed,
        state=WAITING,
        dua_rule=rule["rule_id"],
        dua_end=add_years(start, rule["years"]),
        final_action=rule["final_action"],
        frozen=frozen,
    )
    words = [case.title, case.reference, number or "", package.actes_id or ""]
    words += [case.procedure, frozen["typologie"], *(d["title"] for d in frozen["documents"])]
    uow.archives.add_waiting(package, search_text=" ".join(words).lower(), now=ctx.now)
    uow.journal.append(
        tenant=ctx.tenant,
        kind="archive.waiting",
        case_id=ctx.case_id,
        actor="system:archives",
        payload={"package": package.package_id, "typologie": frozen["typologie"]},
        now=ctx.now,
    )


def _archived(
    uow: UnitOfWork,
    ctx: OperationContext,
    package: ArchivedPackage,
    stored: StoredPackage,
    secondary: CopiedPackage | None,
) -> dict[str, Any]:
    objects = [asdict(o) for o in stored.objects]
    second: dict[str, Any] = {}
    if secondary is not None:
        record = {"bucket": secondary.bucket, "objects": [asdict(o) for o in secondary.objects]}
        second = {"copies": {"secondary": record}}
    uow.archives.update(
        ctx.tenant,
        package.package_id,
        ctx.now,
        state=ARCHIVED,
        last_error=None,
        bucket=stored.bucket,
        seal_sha512=stored.seal_sha512,
        objects=objects,
        total_bytes=sum(o.size for o in stored.objects),
        retain_until=stored.retain_until,
        archived_at=ctx.now,
        **second,
    )
    uow.journal.append(
        tenant=ctx.tenant,
        kind="archive.sealed",
        case_id=ctx.case_id,
        actor="system:archives",
        payload={
            "package": package.package_id,
            "bucket": stored.bucket,
            "seal_sha512": stored.seal_sha512,
            "objects": len(objects),
            "retain_until": utc_iso(stored.retain_until),
            "already_stored": stored.already_stored,
            **({"secondary_bucket": secondary.bucket} if secondary is not None else {}),
        },
        now=ctx.now,
    )
    uow.seal_journal_after_commit(ctx.tenant)
    return _result(ArchivedPackage(**{**asdict(package), "seal_sha512": stored.seal_sha512}))


SEAL_CASE: Operation[SealCaseParams, FreezePlan | StorePlan, Frozen | Waiting | Stored] = Operation(
    name="archiving.seal_case",
    params=SealCaseParams,
    prepare=_prepare,
    act=_act,
    record=_record,
    queue="sealing",
    description="Scelle le dossier clos en paquet d'archives (SEDA 2.3, Object Lock)",
)

OPERATIONS = (SEAL_CASE,)
