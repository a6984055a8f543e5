"""The hash-chained journal: every kind of tampering is detected, by service and by CLI."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Connection, delete, insert, select, update

from engine.bootstrap import Platform
from engine.domain.journal import GENESIS_HASH, verify_chain
from engine.persistence import tables as t
from engine.services.archives.journal_checks import verify_journal
from tests.engine.support import SIREN_A, SIREN_B, complete, make_tenants, start

DRAFT = {"objet": "Arrêté de voirie", "nature": "3", "texte": "Le maire arrête la fermeture."}


@pytest.fixture
def p(platform: Platform) -> Platform:
    make_tenants(platform)
    for _ in range(2):
        case = start(platform, "arrete")
        complete(platform, case, "rediger", DRAFT)
    start(platform, "arrete", tenant=SIREN_B)
    return platform


def _edit_payload(conn: Connection) -> None:
    conn.execute(
        update(t.journal)
        .where(t.journal.c.tenant == SIREN_A, t.journal.c.seq == 3)
        .values(payload={"task": "rediger", "data_sha256": "0" * 64})
    )


def _edit_actor(conn: Connection) -> None:
    conn.execute(
        update(t.journal)
        .where(t.journal.c.tenant == SIREN_A, t.journal.c.seq == 2)
        .values(actor="user:quelquun-dautre")
    )


def _delete_middle(conn: Connection) -> None:
    conn.execute(delete(t.journal).where(t.journal.c.tenant == SIREN_A, t.journal.c.seq == 3))


def _delete_last(conn: Connection) -> None:
    last = conn.execute(
        select(t.journal.c.seq)
        .where(t.journal.c.tenant == SIREN_A)
        .order_by(t.journal.c.seq.desc())
        .limit(1)
    ).scalar_one()
    conn.execute(delete(t.journal).where(t.journal.c.tenant == SIREN_A, t.journal.c.seq == last))


def _insert(conn: Connection) -> None:
    rows = list(
        conn.execute(
            select(t.journal).where(t.journal.c.tenant == SIREN_A).order_by(t.journal.c.seq)
        )
    )
    conn.execute(
        update(t.journal)
        .where(t.journal.c.tenant == SIREN_A, t.journal.c.seq >= 3)
        .values(seq=t.journal.c.seq + 1000)
    )
    forged = dict(rows[2]._mapping)
    forged.update(seq=3, kind="task.completed", actor="user:faussaire")
    conn.execute(insert(t.journal).values(**forged))


def _reorder(conn: Connection) -> None:
    conn.execute(
        update(t.journal).where(t.journal.c.tenant == SIREN_A, t.journal.c.seq == 2).values(seq=-2)
    )
    conn.execute(
        update(t.journal).where(t.journal.c.tenant == SIREN_A, t.journal.c.seq == 3).values(seq=2)
    )
    conn.execute(
        update(t.journal).where(t.journal.c.tenant == SIREN_A, t.journal.c.seq == -2).values(seq=3)
    )


def _rehash_edit(conn: Connection) -> None:
    """A forger who recomputes the edited link's hash still breaks the next link."""
    from engine.domain.journal import entry_body, link_hash

    row = conn.execute(
        select(t.journal).where(t.journal.c.tenant == SIREN_A, t.journal.c.seq == 2)
    ).one()
    payload = {**row.payload, "reference": "falsifiée"}
    body = entry_body(
        tenant=row.tenant,
        seq=row.seq,
        kind=row.kind,
        case_id=str(row.case_id) if row.case_id else None,
        actor=row.actor,
        payload=payload,
        recorded_at=row.recorded_at,
        prev_hash=row.prev_hash,
    )
    conn.execute(
        update(t.journal)
        .where(t.journal.c.tenant == SIREN_A, t.journal.c.seq == 2)
        .values(payload=payload, hash=link_hash(body))
    )


TAMPERING: dict[str, Callable[[Connection], None]] = {
    "edit-payload": _edit_payload,
    "edit-actor": _edit_actor,
    "delete-middle": _delete_middle,
    "delete-last": _delete_last,
    "insert": _insert,
    "reorder": _reorder,
    "edit-and-rehash": _rehash_edit,
}


def test_untouched_journals_verify(p: Platform) -> None:
    with p.uow() as uow:
        report_a = verify_journal(uow, SIREN_A)
        report_b = verify_journal(uow, SIREN_B)
    assert report_a.intact and report_a.entries_checked == 5
    assert report_b.intact and report_b.entries_checked == 2


@pytest.mark.parametrize("kind", sorted(TAMPERING))
def test_every_tampering_is_detected(p: Platform, kind: str) -> None:
    with p.db.begin() as conn:
        TAMPERING[kind](conn)
    with p.uow() as uow:
        report = verify_journal(uow, SIREN_A)
        other = verify_journal(uow, SIREN_B)
    assert not report.intact, kind
    assert report.first_broken_seq is not None
    assert other.intact


def test_empty_chain_is_intact() -> None:
    report = verify_chain(SIREN_A, [], expected_head=GENESIS_HASH)
    assert report.intact and report.entries_checked == 0
