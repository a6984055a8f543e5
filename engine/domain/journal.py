"""Hash chain of the audit journal: canonical JSON, link hashes, and chain verification."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from engine.domain.model import JournalEntry

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON: sorted keys, no spaces, UTF-8, no NaN (RFC 8785-like for our data)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def entry_body(
    *,
    tenant: str,
    seq: int,
    kind: str,
    case_id: str | None,
    actor: str,
    payload: dict[str, Any],
    recorded_at: datetime,
    prev_hash: str,
) -> dict[str, Any]:
    """The exact fields a link's hash covers."""
    return {
        "tenant": tenant,
        "seq": seq,
        "kind": kind,
        "case_id": case_id,
        "actor": actor,
        "payload": payload,
        "recorded_at": utc_iso(recorded_at),
        "prev_hash": prev_hash,
    }


def utc_iso(moment: datetime) -> str:
    """ISO 8601 in UTC; a naive value (as SQLite returns them) is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def link_hash(body: dict[str, Any]) -> str:
    return sha256_hex(canonical_json(body))


def hash_of(entry: JournalEntry) -> str:
    """Recompute an entry's hash from its content."""
    return link_hash(
        entry_body(
            tenant=entry.tenant,
            seq=entry.seq,
            kind=entry.kind,
            case_id=str(entry.case_id) if entry.case_id else None,
            actor=entry.actor,
            payload=entry.payload,
            recorded_at=entry.recorded_at,
            prev_hash=entry.prev_hash,
        )
    )


@dataclass(frozen=True)
class ChainFinding:
    seq: int
    problem: str


@dataclass(frozen=True)
class ChainReport:
    """Verdict on a tenant's journal: intact, or the first broken link and all findings."""

    tenant: str
    entries_checked: int
    head_hash: str
    findings: tuple[ChainFinding, ...]

    @property
    def intact(self) -> bool:
        return not self.findings

    @property
    def first_broken_seq(self) -> int | None:
        return self.findings[0].seq if self.findings else None


def verify_chain(
    tenant: str, entries: Iterable[JournalEntry], *, expected_head: str | None = None
) -> ChainReport:
    """Check every link: sequence without gaps, hashes recomputed, each link pointing to the last.

    Any edit changes a hash; a deletion or insertion breaks the sequence or the back-link; a
    reordering does both. `expected_head` (the hash kept apart, e.g. in the journal head row or
    a sealed Merkle root) also catches truncation of the chain's end.
    """
    findings: list[ChainFinding] = []
    previous = GENESIS_HASH
    expected_seq = 1
    count = 0
    for entry in entries:
        count += 1
        if entry.tenant != tenant:
            findings.append(ChainFinding(entry.seq, "entrée d'une autre collectivité"))
        if entry.seq != expected_seq:
            findings.append(
                ChainFinding(entry.seq, f"numéro {entry.seq} au lieu de {expected_seq}")
            )
        if entry.prev_hash != previous:
            findings.append(ChainFinding(entry.seq, "lien vers l'entrée précédente rompu"))
        recomputed = hash_of(entry)
        if recomputed != entry.hash:
            findings.append(ChainFinding(entry.seq, "contenu modifié (empreinte différente)"))
        previous = entry.hash
        expected_seq = entry.seq + 1
    if expected_head is not None and previous != expected_head:
        findings.append(
            ChainFinding(expected_seq, "fin de chaîne différente de la tête enregistrée")
        )
    return ChainReport(tenant, count, previous, tuple(findings))
