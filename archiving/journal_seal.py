"""Periodic seals of the engine's hash-chained journal: Merkle root, RFC 3161 time, chained.

Each seal covers the entries written since the previous one. Its statement (canonical JSON)
holds the Merkle root of those entries and the digest of the previous seal's statement; an RFC
3161 token over the statement dates it. Rewriting any sealed entry changes a root, rewriting a
seal breaks its token and the next seal's back-link.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from archiving.errors import JournalSealError
from archiving.merkle import InclusionProof, inclusion_proof, merkle_root, verify_inclusion
from archiving.seals import Timestamper, TimestampVerifier

__all__ = [
    "EntryProof",
    "JournalEntryRef",
    "JournalSeal",
    "prove_entry",
    "seal_journal",
    "verify_entry_proof",
    "verify_seal_chain",
]


@dataclass(frozen=True)
class JournalEntryRef:
    """What a seal covers of one journal entry: its sequence number and its chain hash."""

    seq: int
    """Sequence number of the entry in its journal."""
    hash: str
    """The entry's hash (hex) as the engine's hash chain computed it."""

    @property
    def leaf(self) -> bytes:
        """The Merkle leaf for this entry."""
        return f"{self.seq}:{self.hash}".encode("ascii")


@dataclass(frozen=True)
class JournalSeal:
    """One seal of the journal."""

    scope: str
    """Journal sealed (a tenant identifier, or ``platform``)."""
    number: int
    """Seal number in this scope, from 1."""
    first_seq: int
    """Sequence number of the first entry covered."""
    last_seq: int
    """Sequence number of the last entry covered."""
    merkle_root: str
    """Merkle root (hex) over the covered entries, in order."""
    previous: str
    """SHA-256 (hex) of the previous seal's statement ("" for the first seal)."""
    sealed_at: datetime
    """When the seal was made (the token's time is the proof; this is informative)."""
    token: bytes
    """RFC 3161 timestamp token over :meth:`statement`."""
    head_hash: str = ""
    """Hash of the last covered entry: the journal's head when sealed ("" in seals made
    before it was recorded; the Merkle root binds it all the same)."""

    def statement(self) -> bytes:
        """The canonical bytes the token timestamps and the next seal chains to."""
        body = {
            "scope": self.scope,
            "number": self.number,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "merkle_root": self.merkle_root,
            "previous": self.previous,
            "sealed_at": self.sealed_at.astimezone(UTC).isoformat(),
        }
        if self.head_hash:
            body["head_hash"] = self.head_hash
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")

    @property
    def digest(self) -> str:
        """SHA-256 (hex) of the statement: what the next seal points back to."""
        return hashlib.sha256(self.statement()).hexdigest()

    def to_json(self) -> bytes:
        """The stored form: the statement's fields plus the token in base64."""
        body: dict[str, Any] = json.loads(self.statement())
        body["timestamp_token"] = base64.b64encode(self.token).decode("ascii")
        return json.dumps(body, sort_keys=True, indent=1).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> JournalSeal:
        """Read a stored seal; :class:`JournalSealError` when unreadable."""
        try:
            body = json.loads(data)
            return cls(
                scope=str(body["scope"]),
                number=int(body["number"]),
                first_seq=int(body["first_seq"]),
                last_seq=int(body["last_seq"]),
                merkle_root=str(body["merkle_root"]),
                previous=str(body["previous"]),
                sealed_at=datetime.fromisoformat(body["sealed_at"]),
                token=base64.b64decode(body["timestamp_token"], validate=True),
                head_hash=str(body.get("head_hash", "")),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise JournalSealError(f"Sceau de journal illisible : {exc}") from exc


def seal_journal(
    entries: Sequence[JournalEntryRef],
    *,
    scope: str,
    previous: JournalSeal | None,
    timestamper: Timestamper,
    now: datetime,
) -> JournalSeal:
    """Seal the entries written since ``previous`` (contiguous sequence numbers, no gap)."""
    if not entries:
        raise JournalSealError("Aucune nouvelle entrée de journal à sceller.")
    expected = previous.last_seq + 1 if previous is not None else entries[0].seq
    for offset, entry in enumerate(entries):
        if entry.seq != expected + offset:
            raise JournalSealError(
                f"Entrées de journal non contiguës : {entry.seq} au lieu de {expected + offset}."
            )
    unsigned = JournalSeal(
        scope=scope,
        number=previous.number + 1 if previous is not None else 1,
        first_seq=entries[0].seq,
        last_seq=entries[-1].seq,
        merkle_root=merkle_root([e.leaf for e in entries]).hex(),
        previous=previous.digest if previous is not None else "",
        sealed_at=now,
        token=b"",
        head_hash=entries[-1].hash,
    )
    token = timestamper.timestamp(unsigned.statement())
    return JournalSeal(**{**unsigned.__dict__, "token": token})


@dataclass(frozen=True)
class EntryProof:
    """Proof that one entry is covered by a given seal."""

    seal_number: int
    """Seal covering the entry."""
    entry: JournalEntryRef
    """The entry proven."""
    proof: InclusionProof
    """Merkle audit path up to the seal's root."""


def prove_entry(seal: JournalSeal, entries: Sequence[JournalEntryRef], seq: int) -> EntryProof:
    """Inclusion proof of entry ``seq`` in ``seal`` (``entries``: those the seal covers)."""
    if not seal.first_seq <= seq <= seal.last_seq:
        raise JournalSealError(f"L'entrée {seq} n'est pas couverte par le sceau n° {seal.number}.")
    index = seq - seal.first_seq
    return EntryProof(
        seal_number=seal.number,
        entry=entries[index],
        proof=inclusion_proof([e.leaf for e in entries], index),
    )


def verify_entry_proof(proof: EntryProof, seal: JournalSeal) -> bool:
    """True when the entry of ``proof`` is covered by ``seal``."""
    return (
        proof.seal_number == seal.number
        and proof.proof.tree_size == seal.last_seq - seal.first_seq + 1
        and proof.proof.index == proof.entry.seq - seal.first_seq
        and verify_inclusion(proof.entry.leaf, proof.proof, bytes.fromhex(seal.merkle_root))
    )


def verify_seal_chain(
    seals: Sequence[JournalSeal],
    *,
    timestamp_verifier: TimestampVerifier,
    entries: Sequence[JournalEntryRef] | None = None,
) -> tuple[str, ...]:
    """Every problem in a chain of seals (numbering, back-links, tokens, and roots if given)."""
    problems: list[str] = []
    previous: JournalSeal | None = None
    by_seq = {e.seq: e for e in entries} if entries is not None else None
    for seal in seals:
        label = f"Sceau de journal n° {seal.number}"
        if previous is not None:
            if seal.number != previous.number + 1:
                problems.append(f"{label} : numéro attendu {previous.number + 1}.")
            if seal.previous != previous.digest:
                problems.append(f"{label} : le chaînage au sceau précédent est rompu.")
            if seal.first_seq != previous.last_seq + 1:
                problems.append(f"{label} : entrées non contiguës avec le sceau précédent.")
        elif seal.number == 1 and seal.previous:
            problems.append(f"{label} : le premier sceau ne doit pointer vers aucun autre.")
        check = timestamp_verifier.verify(seal.statement(), seal.token)
        if not check.valid:
            problems.append(f"{label} : horodatage invalide ({'; '.join(check.problems)}).")
        if by_seq is not None:
            head = by_seq.get(seal.last_seq)
            if seal.head_hash and (head is None or head.hash != seal.head_hash):
                problems.append(
                    f"{label} : la tête scellée (entrée {seal.last_seq}, "
                    f"{seal.head_hash[:16]}) n'est plus dans le journal."
                )
            covered = [by_seq.get(seq) for seq in range(seal.first_seq, seal.last_seq + 1)]
            if None in covered:
                problems.append(f"{label} : des entrées scellées manquent au journal.")
            elif merkle_root([e.leaf for e in covered if e]).hex() != seal.merkle_root:
                problems.append(
                    f"{label} : les entrées du journal ne correspondent plus à la racine."
                )
        previous = seal
    return tuple(problems)
