"""Periodic journal seals (Merkle root, RFC 3161 time, chained, stored locked), inclusion
proofs of single entries, and the batched, resumable fixity audit of a tenant's archive."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from archiving import (
    ArchivingError,
    EntryProof,
    Finding,
    FindingKind,
    JournalEntryRef,
    JournalSeal,
    ObjectStore,
    StorageUnavailable,
    audit_journal_seals,
    audit_packages,
    prepare_tenant_bucket,
    prove_entry,
    seal_journal,
    store_journal_seal,
    verify_entry_proof,
    verify_seal_chain,
)
from archiving.model import add_years
from archiving.store import journal_seal_key, lock_end
from engine.domain.archives import (
    ARCHIVED,
    TRANSFERRED,
    WAITING,
    AuditRun,
    StoredFinding,
)
from engine.domain.errors import NotFound
from engine.domain.journal import hash_of, verify_chain
from engine.persistence.uow import UnitOfWorkFactory
from engine.services.archives import (
    RECORD_RETENTION_YEARS,
    ArchiveSetup,
    ArchiveUnavailable,
    archive_setup,
)
from engine.settings import Settings
from signatures import SignatureError

log = logging.getLogger(__name__)

MAX_ENTRIES_PER_SEAL = 50_000
AUDIT_BATCH_SIZE = 20
AUDIT_EVERY = timedelta(days=1)
JOURNAL_SCOPE = "journal"


# Journal seals ----------------------------------------------------------------------------------


def _adopt_stored(store: ObjectStore, bucket: str, tenant: str, number: int) -> JournalSeal | None:
    """A seal an earlier run stored but did not record (it crashed in between)."""
    key = journal_seal_key(tenant, number)
    if store.stat(bucket, key) is None:
        return None
    with store.open(bucket, key) as stream:
        return JournalSeal.from_json(stream.read(1024 * 1024))


def seal_tenant_journal(
    uow_factory: UnitOfWorkFactory, setup: ArchiveSetup, tenant: str, *, now: datetime
) -> JournalSeal | None:
    """Seal the tenant's journal entries written since its last seal; None when none are new."""
    with uow_factory() as uow:
        previous = uow.archives.last_seal(tenant)
        after = previous.last_seq if previous is not None else 0
        head, _ = uow.journal.head(tenant)
        if head <= after:
            return None
        entries = []
        for entry in uow.journal.iter_entries(tenant, after_seq=after):
            entries.append(JournalEntryRef(entry.seq, entry.hash))
            if len(entries) >= MAX_ENTRIES_PER_SEAL:
                break
    bucket = setup.bucket(tenant)
    number = previous.number + 1 if previous is not None else 1
    with setup.store() as store:
        prepare_tenant_bucket(store, bucket)
        seal = _adopt_stored(store, bucket, tenant, number)
        if seal is None or seal.previous != (previous.digest if previous else ""):
            seal = seal_journal(
                entries, scope=tenant, previous=previous, timestamper=setup.timestamper, now=now
            )
        until = lock_end(add_years(now.date(), RECORD_RETENTION_YEARS))
        stored = store_journal_seal(store, bucket, seal, retain_until=until)
    with uow_factory() as uow:
        uow.archives.add_seal(seal, object_key=stored.key, version_id=stored.version_id)
        uow.journal.append(
            tenant=tenant,
            kind="journal.sealed",
            case_id=None,
            actor="system:archives",
            payload={
                "number": seal.number,
                "first_seq": seal.first_seq,
                "last_seq": seal.last_seq,
                "merkle_root": seal.merkle_root,
                "digest": seal.digest,
            },
            now=now,
        )
        uow.commit()
    return seal


def seal_all_journals(uow_factory: UnitOfWorkFactory, setup: ArchiveSetup, *, now: datetime) -> int:
    """The beat job: seal every tenant's new entries; a store outage waits for the next beat."""
    with uow_factory() as uow:
        tenants = [t.siren for t in uow.tenants.all()]
    sealed = 0
    for tenant in tenants:
        try:
            sealed += seal_tenant_journal(uow_factory, setup, tenant, now=now) is not None
        except (ArchivingError, SignatureError) as exc:
            log.warning("scellement du journal de %s reporté : %s", tenant, exc)
    return sealed


def seal_when_possible(
    uow_factory: UnitOfWorkFactory,
    settings: Settings,
    cache: dict[str, object],
    tenant: str,
    *,
    now: datetime,
) -> JournalSeal | None:
    """Seal right after an event worth sealing (tenant created, package archived). A store or
    timestamp outage is logged, not raised: the event is committed and the periodic seal
    covers it later. `cache` keeps the archive setup (keys loaded once per process)."""
    setup = cache.get("archive_setup")
    try:
        if not isinstance(setup, ArchiveSetup):
            setup = archive_setup(settings)
            cache["archive_setup"] = setup
        return seal_tenant_journal(uow_factory, setup, tenant, now=now)
    except ArchiveUnavailable:
        return None
    except (ArchivingError, SignatureError) as exc:
        log.warning("scellement du journal de %s reporté : %s", tenant, exc)
        return None


@dataclass(frozen=True)
class JournalEntryProof:
    """An entry, the seal covering it and the Merkle path from the entry to the seal's root."""

    tenant: str
    seal: JournalSeal
    proof: EntryProof


def prove_journal_entry(uow_factory: UnitOfWorkFactory, tenant: str, seq: int) -> JournalEntryProof:
    """Inclusion proof of entry `seq` in the seal covering it (:class:`NotFound` if unsealed)."""
    with uow_factory() as uow:
        seal = uow.archives.seal_covering(tenant, seq)
        if seal is None:
            raise NotFound(f"L'entrée {seq} du journal n'est pas encore scellée.")
        refs = [
            JournalEntryRef(e.seq, e.hash)
            for e in uow.journal.iter_entries(tenant, after_seq=seal.first_seq - 1)
            if e.seq <= seal.last_seq
        ]
    return JournalEntryProof(tenant, seal, prove_entry(seal, refs, seq))


def check_journal_entry(
    uow_factory: UnitOfWorkFactory, setup: ArchiveSetup, proof: JournalEntryProof
) -> tuple[str, ...]:
    """Every problem with a proof: the entry's content, the Merkle path, the seal's timestamp."""
    problems = []
    entry = proof.proof.entry
    with uow_factory() as uow:
        found = next(iter(uow.journal.iter_entries(proof.tenant, after_seq=entry.seq - 1)), None)
    if found is None or found.seq != entry.seq:
        problems.append(f"L'entrée {entry.seq} est absente du journal.")
    elif hash_of(found) != entry.hash or found.hash != entry.hash:
        problems.append(f"L'entrée {entry.seq} a été modifiée depuis son scellement.")
    if not verify_entry_proof(proof.proof, proof.seal):
        problems.append("Le chemin de Merkle ne mène pas à la racine du sceau.")
    check = setup.timestamp_verifier.verify(proof.seal.statement(), proof.seal.token)
    if not check.valid:
        problems.append("Horodatage du sceau invalide : " + "; ".join(check.problems))
    return tuple(problems)


# Fixity audit -------------------------------------------------------------------------------------


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
    uow_factory: UnitOfWorkFactory, setup: ArchiveSetup, store: ObjectStore, tenant: str
) -> list[Finding]:
    """The stored seal chain, the recorded seals against the stored ones, and the journal's
    current entries against the sealed Merkle roots and its own hash chain."""
    bucket = setup.bucket(tenant)
    scope = f"journal-seals/{tenant}/"
    findings = list(
        audit_journal_seals(store, bucket, tenant, timestamp_verifier=setup.timestamp_verifier)
    )
    with uow_factory() as uow:
        recorded = uow.archives.seals(tenant)
        entries = list(uow.journal.iter_entries(tenant))
        _seq, head = uow.journal.head(tenant)
    stored = {}
    for seal in recorded:
        found = _adopt_stored(store, bucket, tenant, seal.number)
        stored[seal.number] = found
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


def _run_to_continue(
    uow_factory: UnitOfWorkFactory, tenant: str, now: datetime, every: timedelta
) -> AuditRun | None:
    with uow_factory() as uow:
        current = uow.archives.open_run(tenant)
        if current is not None:
            return current
        last = next(iter(uow.archives.runs(tenant, limit=1)), None)
        if last is not None and last.started_at > now - every:
            return None
        run_id = uow.archives.start_run(tenant, now)
        uow.commit()
    return _fresh(uow_factory, tenant, run_id)


def _fresh(uow_factory: UnitOfWorkFactory, tenant: str, run_id: uuid.UUID) -> AuditRun | None:
    with uow_factory() as uow:
        return uow.archives.run(tenant, run_id)


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
    run = _run_to_continue(uow_factory, tenant, now, every)
    if run is None:
        return None
    with uow_factory() as uow:
        expected = uow.archives.ids(tenant, [ARCHIVED, TRANSFERRED])
        waiting = set(uow.archives.ids(tenant, [WAITING]))
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
                findings += _journal_findings(uow_factory, setup, store, tenant)
    except StorageUnavailable as exc:
        with uow_factory() as uow:
            uow.archives.fail_run(
                run.id, f"Stockage indisponible, reprise au prochain lot : {exc}", now
            )
            uow.commit()
        return _fresh(uow_factory, tenant, run.id)
    except ArchivingError as exc:
        findings = [Finding(FindingKind.MISSING, "", f"Stockage refusé : {exc}")]
        report = None
    with uow_factory() as uow:
        uow.archives.advance_run(
            run.id,
            cursor=report.next_cursor if report else None,
            packages=len(report.packages_checked) if report else 0,
            objects=report.objects_checked if report else 0,
            bytes_read=report.bytes_read if report else 0,
            findings=_stored_findings(findings, waiting),
            finished=report is None or report.next_cursor is None,
            now=now,
            tenant=tenant,
        )
        uow.commit()
    return _fresh(uow_factory, tenant, run.id)


def audit_all(uow_factory: UnitOfWorkFactory, setup: ArchiveSetup, *, now: datetime) -> int:
    """The beat job: one audit batch per tenant that has packages or seals; returns batches run."""
    with uow_factory() as uow:
        tenants = [t.siren for t in uow.tenants.all()]
    done = 0
    for tenant in tenants:
        try:
            done += audit_batch(uow_factory, setup, tenant, now=now) is not None
        except ArchivingError as exc:
            log.warning("audit des archives de %s reporté : %s", tenant, exc)
    return done
