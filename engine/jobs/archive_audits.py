"""The batched, resumable fixity audit of each tenant's archive (packages, journal seals, journal).

Each beat runs one batch per tenant: the run and its cursor are recorded by the runner between
batches, so an audit interrupted (storage outage, worker restart) resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

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
    prepare_tenant_bucket,
    set_package_legal_hold,
    verify_seal_chain,
)
from archiving.audit import (
    PRIMARY,
    SECONDARY,
    CopyRepair,
    ExpectedObject,
    ObjectCopiesReport,
    ObjectRepair,
    StoreCopy,
    audit_object_copies,
    audit_two_copies,
)
from archiving.destruction import record_keys
from archiving.model import add_years
from archiving.store import journal_seal_key, lock_end
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
from engine.services.archives.setup import (
    RECORD_RETENTION_YEARS,
    ArchiveSetup,
    ArchiveUnavailable,
)

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
    runner: TransactionRunner,
    setup: ArchiveSetup,
    store: ObjectStore,
    tenant: str,
    bucket: str | None = None,
) -> list[Finding]:
    """The stored seal chain, the recorded seals against the stored ones, and the journal's
    current entries against the sealed Merkle roots and its own hash chain."""
    bucket = bucket or setup.bucket(tenant)
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
    repairs: tuple[CopyRepair, ...] = ()
    """Copies rewritten from the intact one (two stores only): journaled with the batch."""
    unrepaired: tuple[str, ...] = ()
    """Packages damaged in both copies."""
    object_repairs: tuple[ObjectRepair, ...] = ()
    """Objects beside the packages rewritten from the intact copy."""
    objects_unrepaired: tuple[ExpectedObject, ...] = ()
    """Objects beside the packages damaged in both copies."""
    reheld: dict[tuple[str, str], int] = field(default_factory=dict)
    """(package, store) → versions put back under the package's legal hold after a repair."""


_STORE_LABEL = {PRIMARY: "primaire", SECONDARY: "secondaire"}


def _journal_copies(
    uow: UnitOfWork, tenant: str, batch: _Batch, findings: list[Finding], now: datetime
) -> None:
    """Journal each repair (what was found, what was rewritten) and record the repaired
    versions, so that later audits take them as the current copy; journal the packages
    damaged in both copies."""
    copies = uow.archives.copies(tenant) if batch.repairs else {}
    for repair in batch.repairs:
        package = uow.archives.get(tenant, repair.package_id)
        record: dict[str, Any] = copies.get(repair.package_id, {})
        versions = {o.key: o.version_id for o in repair.copied.objects}
        repaired = dict(record.get("repairs", {}).get(repair.damaged, {}))
        repaired.update({key: versions[key] for key in repair.copied.written})
        record = {**record, "repairs": {**record.get("repairs", {}), repair.damaged: repaired}}
        if repair.damaged == SECONDARY:
            record["secondary"] = {
                "bucket": repair.copied.bucket,
                "objects": [
                    {"key": o.key, "version_id": o.version_id, "size": o.size, "sha512": o.sha512}
                    for o in repair.copied.objects
                ],
            }
        uow.archives.update(tenant, repair.package_id, now, copies=record)
        uow.journal.append(
            tenant=tenant,
            kind="archive.copy_repaired",
            case_id=package.case_id if package else None,
            actor="system:archives",
            payload={
                "package": repair.package_id,
                "store": _STORE_LABEL[repair.damaged],
                "bucket": repair.copied.bucket,
                "findings": [f"{f.path} : {f.message}" for f in repair.findings][:50],
                "rewritten": [
                    {"key": key, "version_id": versions[key]} for key in repair.copied.written
                ],
                **_rehold_payload(batch, repair.package_id, repair.damaged),
            },
            now=now,
        )
    for package_id in batch.unrepaired:
        package = uow.archives.get(tenant, package_id)
        uow.journal.append(
            tenant=tenant,
            kind="archive.copies_damaged",
            case_id=package.case_id if package else None,
            actor="system:archives",
            payload={
                "package": package_id,
                "findings": [
                    f"{f.path} : {f.message}" for f in findings if f.package_id == package_id
                ][:50],
            },
            now=now,
        )


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
    if batch.repairs or batch.unrepaired:
        _journal_copies(uow, tenant, batch, batch.findings, now)
    if batch.object_repairs or batch.objects_unrepaired:
        _journal_objects(uow, tenant, batch, now)


def _rehold_payload(batch: _Batch, package_id: str, store: str) -> dict[str, int]:
    count = batch.reheld.get((package_id, store))
    return {} if count is None else {"legal_hold_restored": count}


def _journal_objects(uow: UnitOfWork, tenant: str, batch: _Batch, now: datetime) -> None:
    """Journal each object beside the packages repaired from the other copy (what was found,
    the new version), and those damaged in both copies."""
    cases: dict[str, uuid.UUID | None] = {}

    def case_of(package_id: str) -> uuid.UUID | None:
        if package_id and package_id not in cases:
            package = uow.archives.get(tenant, package_id)
            cases[package_id] = package.case_id if package else None
        return cases.get(package_id)

    for repair in batch.object_repairs:
        item = repair.expected
        uow.journal.append(
            tenant=tenant,
            kind="archive.copy_repaired",
            case_id=case_of(item.package_id),
            actor="system:archives",
            payload={
                "package": item.package_id or None,
                "object": item.key,
                "store": _STORE_LABEL[repair.damaged],
                "bucket": repair.bucket,
                "findings": [f"{f.path} : {f.message}" for f in repair.findings][:50],
                "rewritten": [{"key": item.key, "version_id": repair.written.version_id}],
                **_rehold_payload(batch, item.package_id, repair.damaged),
            },
            now=now,
        )
    for item in batch.objects_unrepaired:
        uow.journal.append(
            tenant=tenant,
            kind="archive.copies_damaged",
            case_id=case_of(item.package_id),
            actor="system:archives",
            payload={
                "package": item.package_id or None,
                "object": item.key,
                "findings": [
                    f"{f.path} : {f.message}" for f in batch.findings if f.path == item.key
                ][:50],
            },
            now=now,
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
    if setup.secondary_s3 is not None:
        return _check_two_copies(runner, setup, tenant, run, batch_size)
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


def _check_two_copies(
    runner: TransactionRunner, setup: ArchiveSetup, tenant: str, run: AuditRun, batch_size: int
) -> _Batch:
    """Both stores: each copy audited on its own, a copy damaged in one store repaired from
    the intact one (S3 writes here; journaled by `_advance`)."""
    retain, copies = runner.read(
        lambda uow: (
            uow.archives.retain_untils(tenant, [ARCHIVED, TRANSFERRED]),
            uow.archives.copies(tenant),
        )
    )
    locks = {package: until for package, until in retain.items() if until is not None}
    bucket = setup.bucket(tenant)
    try:
        with setup.store() as store, setup.secondary_store() as second:
            target = setup.secondary_bucket(tenant)
            # A store replaced by an empty one gets its bucket back, then its copies; one
            # unreachable is audited as such (the other copy is audited anyway).
            up = {PRIMARY: True, SECONDARY: True}
            for name, where, where_bucket in (
                (PRIMARY, store, bucket),
                (SECONDARY, second, target),
            ):
                try:
                    prepare_tenant_bucket(where, where_bucket)
                except StorageUnavailable:
                    up[name] = False
            primary = StoreCopy(PRIMARY, store, bucket, _repaired(copies, PRIMARY))
            secondary = StoreCopy(SECONDARY, second, target, _repaired(copies, SECONDARY))
            result = audit_two_copies(
                primary,
                secondary,
                seal_verifier=setup.seal_verifier,
                retain_until=locks,
                cursor=run.cursor,
                batch_size=batch_size,
            )
            findings = list(result.report.findings)
            objects: ObjectCopiesReport | None = None
            if result.report.next_cursor is None:
                # The objects beside the packages first, so that a seal damaged in one store
                # is repaired before the seal chain is read from it.
                if all(up.values()):
                    expected = runner.read(lambda uow: _expected_objects(uow, tenant))
                    objects = audit_object_copies(primary, secondary, expected)
                    findings += objects.findings
                else:
                    findings.append(_objects_not_audited(up))
                read_store, read_bucket = (store, bucket) if up[PRIMARY] else (second, target)
                try:
                    findings += _journal_findings(runner, setup, read_store, tenant, read_bucket)
                except ArchivingError as exc:  # the repairs above are journaled all the same
                    findings.append(
                        Finding(
                            FindingKind.BROKEN_SEAL, "journal-seals/", f"Sceaux illisibles : {exc}"
                        )
                    )
    except StorageUnavailable:
        raise
    except ArchivingError as exc:
        return _Batch(None, [Finding(FindingKind.MISSING, "", f"Stockage refusé : {exc}")])
    touched = {(r.package_id, r.damaged) for r in result.repairs}
    if objects is not None:
        touched |= {(r.expected.package_id, r.damaged) for r in objects.repairs}
    reheld = _restore_holds(runner, setup, tenant, touched, findings)
    report = result.report
    if objects is not None:  # the objects beside the packages count in the run's totals
        report = replace(
            report,
            objects_checked=report.objects_checked + objects.objects_checked,
            bytes_read=report.bytes_read + objects.bytes_read,
        )
    return _Batch(
        report,
        findings,
        result.repairs,
        result.unrepaired,
        objects.repairs if objects else (),
        objects.unrepaired if objects else (),
        reheld,
    )


def _restore_holds(
    runner: TransactionRunner,
    setup: ArchiveSetup,
    tenant: str,
    touched: set[tuple[str, str]],
    findings: list[Finding],
) -> dict[tuple[str, str], int]:
    """A repair writes new versions without the package's legal hold (the writing identity may
    not place one): put it back on every version of the repaired copy, through that store's
    legal-hold identity. (package, store) → versions held; a failure is a finding."""
    packages = {package for package, _store in touched if package}
    if not packages:
        return {}
    held = runner.read(
        lambda uow: {
            package
            for package in packages
            if (found := uow.archives.get(tenant, package)) is not None and found.legal_hold
        }
    )
    done: dict[tuple[str, str], int] = {}
    for package, name in sorted(touched):
        if package not in held:
            continue
        holds = setup.holds_store if name == PRIMARY else setup.secondary_holds_store
        bucket = setup.bucket(tenant) if name == PRIMARY else setup.secondary_bucket(tenant)
        try:
            with holds() as store:
                done[(package, name)] = set_package_legal_hold(store, bucket, package, on=True)
        except (ArchivingError, ArchiveUnavailable) as exc:
            message = (
                f"{_STORE_LABEL[name].capitalize()} : conservation pour litige non replacée "
                f"après réparation, à replacer par l'archiviste : {exc}"
            )
            findings.append(Finding(FindingKind.ALTERED, "", message, package))
    return done


def _objects_not_audited(up: dict[str, bool]) -> Finding:
    down = "copie primaire" if not up[PRIMARY] else "copie secondaire"
    return Finding(
        FindingKind.MISSING,
        "",
        f"{down.capitalize()} injoignable : copies renouvelées, sceaux de journal et bordereaux "
        "d'élimination non comparés entre les deux copies.",
    )


def _expected_objects(uow: UnitOfWork, tenant: str) -> list[ExpectedObject]:
    """Everything the platform recorded having written beside the packages: the renewed
    copies of the packages still kept, the journal seals, the destruction records."""
    expected: list[ExpectedObject] = []
    for package in uow.archives.packages_in_states(tenant, [ARCHIVED, TRANSFERRED]):
        for renewal in uow.timestamp_renewals.for_package(tenant, package.package_id):
            expected.append(
                ExpectedObject(
                    renewal.object_key,
                    sha256=renewal.sha256,
                    retain_until=renewal.retain_until,
                    package_id=package.package_id,
                )
            )
    for seal in uow.archives.seals(tenant):
        until = lock_end(add_years(seal.sealed_at.date(), RECORD_RETENTION_YEARS))
        expected.append(
            ExpectedObject(
                journal_seal_key(tenant, seal.number),
                sha512=hashlib.sha512(seal.to_json()).hexdigest(),
                retain_until=until,
            )
        )
    for entry in uow.journal.iter_entries(tenant):
        if entry.kind != "archive.destroyed":
            continue
        payload = entry.payload
        package_id = str(payload.get("package", ""))
        until = lock_end(add_years(entry.recorded_at.date(), RECORD_RETENTION_YEARS))
        record_key, seal_key, visa_key = record_keys(package_id)
        for key, name, algorithm in (
            (record_key, "notification_sha256", "sha256"),
            (seal_key, "seal_sha512", "sha512"),
            (visa_key, "visa_sha512", "sha512"),
        ):
            digest = payload.get(name)
            if isinstance(digest, str):
                expected.append(
                    ExpectedObject(
                        key,
                        sha256=digest if algorithm == "sha256" else None,
                        sha512=digest if algorithm == "sha512" else None,
                        retain_until=until,
                        package_id=package_id,
                    )
                )
    return expected


def _repaired(copies: dict[str, dict[str, Any]], store: str) -> dict[str, dict[str, str]]:
    return {
        package: dict(record.get("repairs", {}).get(store, {}))
        for package, record in copies.items()
        if record.get("repairs", {}).get(store)
    }


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
