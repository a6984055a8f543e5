"""Verification of a tenant's hash-chained journal: the chain, its seals, its completeness, and
the inclusion proof of one entry in the seal covering it.

The chain alone proves nothing against someone who can write the database: a rewrite from an
entry onward with recomputed hashes and the head row updated is a consistent chain. Three
things outside the chain close that gap:

- the Merkle journal seals, each RFC 3161 timestamped and stored as an object under COMPLIANCE
  lock in the archive store (read from there, not only from the database table): every sealed
  entry must still have the sealed hash, and the current head must extend the last seal;
- the seal rows of the database compared with the locked copies (a row deleted or altered);
- for the tail written since the last seal, the records the journal describes: every case,
  case version, document and archived package has its entry, and no entry points at a record
  that does not exist — so deleting the newest entries and moving the head back is found too.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from archiving import (
    ArchivingError,
    EntryProof,
    JournalEntryRef,
    JournalSeal,
    JournalSealError,
    ObjectLockMissingError,
    load_journal_seals,
    prove_entry,
    verify_entry_proof,
    verify_seal_chain,
)
from engine.domain.archives import ARCHIVED, TRANSFERRED
from engine.domain.errors import NotFound
from engine.domain.journal import ChainReport, hash_of, verify_chain
from engine.domain.model import JournalEntry
from engine.persistence.journal_records import JournalRecords
from engine.persistence.uow import UnitOfWork, UnitOfWorkFactory
from engine.services.archives.setup import ArchiveSetup

CASE_VERSION_KINDS = frozenset(
    {
        "case.started",
        "task.completed",
        "job.succeeded",
        "job.failed",
        "timer.fired",
        "message.received",
        "signal.received",
        "case.cancelled",
        "case.retried",
        "case.error",
        "case.personal_data_purged",
    }
)
"""Entries written with a step of the case (each such step saves a new version)."""


def verify_journal(uow: UnitOfWork, tenant: str) -> ChainReport:
    """The hash chain alone, against the head row of the same database."""
    _seq, head = uow.journal.head(tenant)
    return verify_chain(tenant, uow.journal.iter_entries(tenant), expected_head=head)


@dataclass(frozen=True)
class JournalVerification:
    """Verdict of `audit verify`: every finding is one French sentence."""

    tenant: str
    entries: int
    head_seq: int
    head_hash: str
    seals: int
    """Seals read from the locked store."""
    sealed_up_to: int
    """Sequence number of the last sealed entry (0 when none)."""
    findings: tuple[str, ...]

    @property
    def intact(self) -> bool:
        return not self.findings

    @property
    def unsealed(self) -> int:
        """Entries written since the last seal."""
        return max(self.head_seq - self.sealed_up_to, 0)


def _seal_findings(
    stored: list[JournalSeal],
    recorded: list[JournalSeal],
    setup: ArchiveSetup,
    refs: list[JournalEntryRef],
) -> list[str]:
    findings = list(
        verify_seal_chain(stored, timestamp_verifier=setup.timestamp_verifier, entries=refs)
    )
    if stored and stored[0].number != 1:
        findings.append(
            f"Sceau de journal n° 1 absent du stockage (le premier est le n° {stored[0].number})."
        )
    if stored and stored[0].first_seq != 1:
        findings.append("Le premier sceau de journal ne commence pas à l'entrée 1.")
    by_number = {seal.number: seal for seal in stored}
    for seal in recorded:
        locked = by_number.get(seal.number)
        if locked is None:
            findings.append(
                f"Sceau de journal n° {seal.number} enregistré en base mais absent du stockage verrouillé."
            )
        elif locked.digest != seal.digest or locked.token != seal.token:
            findings.append(
                f"Sceau de journal n° {seal.number} : la base diffère de la copie verrouillée."
            )
    in_database = {seal.number for seal in recorded}
    for seal in stored:
        if seal.number not in in_database:
            findings.append(
                f"Sceau de journal n° {seal.number} présent dans le stockage verrouillé "
                "mais supprimé de la base."
            )
    return findings


def _head_findings(last: JournalSeal | None, head_seq: int, chain: ChainReport) -> list[str]:
    if last is None:
        return []
    if head_seq < last.last_seq or chain.entries_checked < last.last_seq:
        return [
            f"Journal tronqué : la tête (entrée {head_seq}, {chain.entries_checked} entrées) "
            f"est en deçà du dernier sceau n° {last.number} (entrée {last.last_seq})."
        ]
    return []


def _referenced_ids(entries: Iterable[JournalEntry], key: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for entry in entries:
        value = entry.payload.get(key) if isinstance(entry.payload, dict) else None
        if isinstance(value, str):
            found.setdefault(value, entry.seq)
    return found


def _records_findings(
    records: JournalRecords, entries: list[JournalEntry], sealed_up_to: int
) -> list[str]:
    """Records without their entry, and tail entries pointing at nothing."""
    findings: list[str] = []
    started = {e.case_id for e in entries if e.kind == "case.started"}
    filed = {e.case_id for e in entries if e.kind == "citizen.request.filed"}
    steps = Counter(e.case_id for e in entries if e.kind in CASE_VERSION_KINDS)
    for case in records.cases:
        if case.id not in started:
            findings.append(f"Dossier {case.reference} sans entrée « case.started » au journal.")
        elif steps[case.id] < case.version:
            findings.append(
                f"Dossier {case.reference} : version {case.version} mais "
                f"{steps[case.id]} étape(s) au journal (entrées manquantes)."
            )
    documents = _referenced_ids(entries, "document")
    for document in records.documents:
        # A case's documents are journaled one by one (added, rendered, signed, sealed), except
        # the pieces a citizen files, journaled with the request by count. Uploads not yet
        # attached to a case have no entry of their own.
        if document.case_id is None or document.case_id in filed:
            continue
        if str(document.id) not in documents:
            findings.append(f"Document « {document.name} » ({document.id}) absent du journal.")
    sealed_packages = _referenced_ids((e for e in entries if e.kind == "archive.sealed"), "package")
    for package in sorted(records.archived):
        if package not in sealed_packages:
            findings.append(f"Paquet {package} archivé sans entrée « archive.sealed » au journal.")
    known_cases = {case.id for case in records.cases}
    known_documents = {str(document.id) for document in records.documents}
    for entry in entries:
        if entry.seq <= sealed_up_to:
            continue
        if entry.case_id is not None and entry.case_id not in known_cases:
            findings.append(f"Entrée {entry.seq} : le dossier {entry.case_id} n'existe pas.")
        payload = entry.payload if isinstance(entry.payload, dict) else {}
        pointed = payload.get("document")
        if isinstance(pointed, str) and _is_uuid(pointed) and pointed not in known_documents:
            findings.append(f"Entrée {entry.seq} : le document {pointed} n'existe pas.")
        pointed = payload.get("package")
        if entry.kind == "archive.sealed" and str(pointed) not in records.packages:
            findings.append(f"Entrée {entry.seq} : le paquet {pointed} n'existe pas.")
    return findings


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def verify_journal_completeness(
    uow_factory: UnitOfWorkFactory, setup: ArchiveSetup, tenant: str
) -> JournalVerification:
    """The chain, the locked seals (tokens, roots, head extending the last one), the database's
    seal rows against the locked copies, and the records against the journal."""
    with uow_factory() as uow:
        return check_journal_completeness(uow, setup, tenant)


def check_journal_completeness(
    uow: UnitOfWork, setup: ArchiveSetup, tenant: str
) -> JournalVerification:
    """:func:`verify_journal_completeness` inside a unit of work already open (a web request's,
    which on SQLite holds the only writer transaction)."""
    head_seq, head_hash = uow.journal.head(tenant)
    entries = list(uow.journal.iter_entries(tenant))
    recorded = uow.archives.seals(tenant)
    records = uow.journal.records_of(tenant, (ARCHIVED, TRANSFERRED))
    chain = verify_chain(tenant, entries, expected_head=head_hash)
    findings = [f"Entrée {item.seq} : {item.problem}." for item in chain.findings]
    refs = [JournalEntryRef(e.seq, e.hash) for e in entries]
    stored: list[JournalSeal] = []
    try:
        with setup.reading_store(tenant) as (store, bucket):  # either copy when one is down
            store.require_object_lock(bucket)
            stored = load_journal_seals(store, bucket, tenant)
    except (JournalSealError, ObjectLockMissingError) as exc:
        findings.append(str(exc))
    except ArchivingError as exc:
        raise ArchivingError(f"Sceaux du journal illisibles dans le stockage : {exc}") from exc
    if not stored:
        findings.append("Aucun sceau de journal dans le stockage verrouillé.")
    findings += _seal_findings(stored, recorded, setup, refs)
    last = stored[-1] if stored else None
    findings += _head_findings(last, head_seq, chain)
    sealed_up_to = last.last_seq if last is not None else 0
    findings += _records_findings(records, entries, sealed_up_to)
    return JournalVerification(
        tenant=tenant,
        entries=chain.entries_checked,
        head_seq=head_seq,
        head_hash=head_hash,
        seals=len(stored),
        sealed_up_to=sealed_up_to,
        findings=tuple(findings),
    )


# Inclusion proofs ---------------------------------------------------------------------------


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
