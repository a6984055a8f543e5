"""The batched, resumable fixity audit of each tenant's archive (packages, journal seals, journal).

Each beat runs one batch per tenant: the run and its cursor are recorded by the runner between
batches, so an audit interrupted (storage outage, worker restart) resumes where it stopped.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from archiving import (
    ArchivingError,
    AuditReport,
    Finding,
    FindingKind,
    JournalEntryRef,
    ObjectStore,
    StorageUnavailable,
    audit_journal_seals,
    audit_packages,
    verify_seal_chain,
)
from engine.domain.archives import (
    ARCHIVED,
    TRANSFERRED,
    WAITING,
    AuditRun,
    StoredFinding,
)
from engine.domain.journal import verify_chain
from engine.jobs.journal_seals import stored_seal
from engine.jobs.runner import TransactionRunner
from engine.persistence.uow import UnitOfWork, UnitOfWorkFactory
from engine.services.archives.setup import ArchiveSetup

log = logging.getLogger(__name__)

AUDIT_BATCH_SIZE = 20
AUDIT_EVERY = timedelta(days=1)


def _stored_findings(
    findings: tuple[Finding, ...] | list[Finding], waiting: set[str]
) -> list[StoredFinding]:
    result = []
    for f in findings:
        note = " (paquet en attente d'archivage)" if f.package_id in waiting else ""
        result.append(
            StoredFinding(f.package_id or "journal", f.kind.value, f.path, f.message + note)
        )
    return result


def _journal_findings(
    runner: TransactionRunner, setup: ArchiveSetup, store: ObjectStore, tenant: str
) -> list[Finding]:
    """The stored seal chain, the recorded seals against the stored ones, and the journal's
    current entries against the sealed Merkle roots and its own hash chain."""
    bucket = setup.bucket(tenant)
    scope = f"journal-seals/{tenant}/"
    findings = list(
        audit_journal_seals(store, bucket, tenant, timestamp_verifier=setup.timestamp_verifier)
    )
    recorded, entries, head = runner.read(
        lambda uow: (
            uow.archives.seals(tenant),
            list(uow.journal.iter_entries(tenant)),
            uow.journal.head(tenant)[1],
        )
    )
    for seal in recorded:
        found = stored_seal(store, bucket, tenant, seal.number)
        if found is None or found.digest != seal.digest or found.token != seal.token:
            findings.append(
                Finding(
                    FindingKind.BROKEN_SEAL,
                    scope,
                    f"Sceau de journal n° {seal.number} absent ou différent dans le stockage.",
                )
            )
    refs = [JournalEntryRef(e.seq, e.hash) for e in entries]
    for problem in verify_seal_chain(
        recorded, timestamp_verifier=setup.timestamp_verifier, entries=refs
    ):
        findings.append(Finding(FindingKind.BROKEN_SEAL, scope, problem))
    chain = verify_chain(tenant, entries, expected_head=head)
    for item in chain.findings:
        findings.append(
            Finding(FindingKind.ALTERED, f"journal/{item.seq}", f"Journal : {item.problem}.")
        )
    return findings


def _open_run(uow: UnitOfWork, tenant: str, now: datetime, every: timedelta) -> uuid.UUID | None:
    """The tenant's unfinished run, else a new one when the last is older than `every`."""
    current = uow.archives.open_run(tenant)
    if current is not None:
        return current.id
    last = next(iter(uow.archives.runs(tenant, limit=1)), None)
    if last is not None and last.started_at > now - every:
        return None
    return uow.archives.start_run(tenant, now)


@dataclass(frozen=True)
class _Batch:
    """What one batch found (report None when the store refused: the run ends)."""

    report: AuditReport | None
    findings: list[Finding]


def _advance(
    uow: UnitOfWork, tenant: str, run_id: uuid.UUID, batch: _Batch, waiting: set[str], now: datetime
) -> None:
    report = batch.report
    uow.archives.advance_run(
        run_id,
        cursor=report.next_cursor if report else None,
        packages=len(report.packages_checked) if report else 0,
        objects=report.objects_checked if report else 0,
        bytes_read=report.bytes_read if report else 0,
        findings=_stored_findings(batch.findings, waiting),
        finished=report is None or report.next_cursor is None,
        now=now,
        tenant=tenant,
    )


def _check_batch(
    runner: TransactionRunner,
    setup: ArchiveSetup,
    tenant: str,
    run: AuditRun,
    expected: list[str],
    batch_size: int,
) -> _Batch:
    """Read and check the next packages (and the journal with the last batch); no transaction."""
    bucket = setup.bucket(tenant)
    try:
        with setup.store() as store:
            store.require_object_lock(bucket)
            report = audit_packages(
                store,
                bucket,
                seal_verifier=setup.seal_verifier,
                cursor=run.cursor,
                batch_size=batch_size,
                expected=expected,
            )
            findings = list(report.findings)
            if report.next_cursor is None:
                findings += _journal_findings(runner, setup, store, tenant)
    except StorageUnavailable:
        raise
    except ArchivingError as exc:
        return _Batch(None, [Finding(FindingKind.MISSING, "", f"Stockage refusé : {exc}")])
    return _Batch(report, findings)


def audit_batch(
    uow_factory: UnitOfWorkFactory,
    setup: ArchiveSetup,
    tenant: str,
    *,
    now: datetime,
    batch_size: int = AUDIT_BATCH_SIZE,
    every: timedelta = AUDIT_EVERY,
) -> AuditRun | None:
    """One batch of the tenant's current audit (starting one when the last is older than
    `every`). Packages first, `batch_size` at a time after the stored cursor; the journal seals
    and the journal itself with the last batch. None when no audit is due."""
    runner = TransactionRunner(uow_factory)
    run_id = runner.write(lambda uow: _open_run(uow, tenant, now, every))
    if run_id is None:
        return None
    run, expected, waiting = runner.read(
        lambda uow: (
            uow.archives.run(tenant, run_id),
            uow.archives.ids(tenant, [ARCHIVED, TRANSFERRED]),
            set(uow.archives.ids(tenant, [WAITING])),
        )
    )
    if run is None:
        return None
    try:
        batch = _check_batch(runner, setup, tenant, run, expected, batch_size)
    except StorageUnavailable as exc:
        message = f"Stockage indisponible, reprise au prochain lot : {exc}"
        runner.write(lambda uow: uow.archives.fail_run(run_id, message, now))
    else:
        runner.write(lambda uow: _advance(uow, tenant, run_id, batch, waiting, now))
    return runner.read(lambda uow: uow.archives.run(tenant, run_id))


def audit_all(uow_factory: UnitOfWorkFactory, setup: ArchiveSetup, *, now: datetime) -> int:
    """The beat job: one audit batch per tenant that has packages or seals; returns batches run."""
    tenants = TransactionRunner(uow_factory).read(lambda uow: [t.siren for t in uow.tenants.all()])
    done = 0
    for tenant in tenants:
        try:
            done += audit_batch(uow_factory, setup, tenant, now=now) is not None
        except ArchivingError as exc:
            log.warning("audit des archives de %s reporté : %s", tenant, exc)
    return done
