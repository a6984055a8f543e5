"""Journal seals: Merkle root timestamped by the real TSA, chained, stored under Object Lock."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from archiving.errors import JournalSealError
from archiving.journal_seal import (
    JournalEntryRef,
    JournalSeal,
    prove_entry,
    seal_journal,
    verify_entry_proof,
    verify_seal_chain,
)
from archiving.store import load_journal_seals, store_journal_seal

pytestmark = pytest.mark.integration


def _entries(first: int, count: int) -> list[JournalEntryRef]:
    return [
        JournalEntryRef(seq=i, hash=hashlib.sha256(f"entry {i}".encode()).hexdigest())
        for i in range(first, first + count)
    ]


def test_chain_of_seals_verifies_and_proves_entries(
    timestamper, timestamp_verifier, object_store, locked_bucket
) -> None:
    now = datetime.now(UTC)
    batch1, batch2 = _entries(1, 5), _entries(6, 3)
    first = seal_journal(batch1, scope="213800000", previous=None, timestamper=timestamper, now=now)
    second = seal_journal(
        batch2, scope="213800000", previous=first, timestamper=timestamper, now=now
    )
    assert second.previous == first.digest and second.number == 2
    assert (
        verify_seal_chain(
            [first, second], timestamp_verifier=timestamp_verifier, entries=batch1 + batch2
        )
        == ()
    )

    proof = prove_entry(second, batch2, 7)
    assert verify_entry_proof(proof, second)
    forged = dataclasses.replace(proof, entry=JournalEntryRef(seq=7, hash="00" * 32))
    assert not verify_entry_proof(forged, second)
    assert not verify_entry_proof(proof, first)

    until = now + timedelta(days=1)
    for seal in (first, second):
        store_journal_seal(object_store, locked_bucket, seal, retain_until=until)
    store_journal_seal(object_store, locked_bucket, second, retain_until=until)  # idempotent
    loaded = load_journal_seals(object_store, locked_bucket, "213800000")
    assert loaded == [first, second]
    assert len(object_store.versions(locked_bucket, "journal-seals/")) == 2


def test_rewritten_history_is_detected(timestamper, timestamp_verifier) -> None:
    now = datetime.now(UTC)
    batch1, batch2 = _entries(1, 4), _entries(5, 4)
    first = seal_journal(batch1, scope="platform", previous=None, timestamper=timestamper, now=now)
    second = seal_journal(
        batch2, scope="platform", previous=first, timestamper=timestamper, now=now
    )
    edited = [*batch1[:2], JournalEntryRef(seq=3, hash="ff" * 32), batch1[3], *batch2]
    problems = verify_seal_chain(
        [first, second], timestamp_verifier=timestamp_verifier, entries=edited
    )
    assert any("n° 1" in p and "racine" in p for p in problems)
    # A seal rewritten with a new root keeps its old token: the timestamp no longer matches,
    # and the next seal's back-link breaks.
    rewritten = dataclasses.replace(first, merkle_root="00" * 32)
    problems = verify_seal_chain([rewritten, second], timestamp_verifier=timestamp_verifier)
    assert any("horodatage" in p for p in problems)
    assert any("chaînage" in p for p in problems)


def test_gaps_are_refused(timestamper) -> None:
    now = datetime.now(UTC)
    first = seal_journal(
        _entries(1, 2), scope="platform", previous=None, timestamper=timestamper, now=now
    )
    with pytest.raises(JournalSealError):
        seal_journal(
            _entries(4, 2), scope="platform", previous=first, timestamper=timestamper, now=now
        )
    with pytest.raises(JournalSealError):
        seal_journal([], scope="platform", previous=first, timestamper=timestamper, now=now)


def test_a_seal_names_the_head_it_sealed(timestamper, timestamp_verifier) -> None:
    """The head hash and count are in the timestamped statement; seals made before the head
    hash was recorded still read and verify."""
    entries = _entries(1, 4)
    seal = seal_journal(
        entries, scope="213800000", previous=None, timestamper=timestamper, now=datetime.now(UTC)
    )
    assert seal.head_hash == entries[-1].hash and seal.last_seq == 4
    assert b'"head_hash"' in seal.statement()
    assert JournalSeal.from_json(seal.to_json()) == seal
    # The head replaced (its hash recomputed elsewhere): found by name, besides the root.
    rewritten = [*entries[:3], JournalEntryRef(seq=4, hash="ab" * 32)]
    problems = verify_seal_chain([seal], timestamp_verifier=timestamp_verifier, entries=rewritten)
    assert any("la tête scellée (entrée 4" in p for p in problems), problems
    # The head hash cannot be changed in a stored seal: the token covers it.
    moved = dataclasses.replace(seal, head_hash="cd" * 32)
    problems = verify_seal_chain([moved], timestamp_verifier=timestamp_verifier)
    assert any("horodatage invalide" in p for p in problems), problems
    # An older seal, without the field, keeps its statement and verifies.
    older = dataclasses.replace(seal, head_hash="", token=b"")
    older = dataclasses.replace(older, token=timestamper.timestamp(older.statement()))
    assert b"head_hash" not in older.statement()
    assert JournalSeal.from_json(older.to_json()) == older
    assert verify_seal_chain([older], timestamp_verifier=timestamp_verifier, entries=entries) == ()
