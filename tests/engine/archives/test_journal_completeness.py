"""`audit verify` against a forger who can write the database: consistent rewrites, truncations,
deleted tails with the head moved back, seal rows deleted or altered. Each attack is performed
for real on the database; the seals are read from the locked copies in SeaweedFS."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, delete, select, update

from archiving import ArchivingError, load_journal_seals
from engine.bootstrap import Platform
from engine.cli.admin import audit as audit_cli
from engine.domain.journal import entry_body, link_hash
from engine.jobs.journal_seals import seal_tenant_journal
from engine.persistence import tables as t
from engine.persistence import tables_archives as a
from engine.services.archives.journal_checks import (
    JournalVerification,
    verify_journal,
    verify_journal_completeness,
)
from engine.services.archives.setup import ArchiveSetup
from engine.services.documents import add_case_document
from tests.engine.archives.conftest import MAIRE, PlatformFactory, archived_case, use_platform_env
from tests.engine.support import AGENT, SIREN_A, SIREN_B, complete, start
from tests.signatures.pdfs import make_pdf

pytestmark = pytest.mark.integration

DRAFT = {"objet": "Arrêté de voirie", "nature": "3", "texte": "Le maire arrête la fermeture."}


def _verify(p: Platform, setup: ArchiveSetup, tenant: str = SIREN_A) -> JournalVerification:
    return verify_journal_completeness(p.uow, setup, tenant)


def _rewrite_from(conn: Connection, tenant: str, seq: int) -> None:
    """Change entry `seq`, recompute every hash from there on and move the head row: the chain
    is consistent again and agrees with `journal_heads`."""
    rows = list(
        conn.execute(
            select(t.journal)
            .where(t.journal.c.tenant == tenant, t.journal.c.seq >= seq - 1)
            .order_by(t.journal.c.seq)
        )
    )
    previous = rows[0].hash if rows[0].seq == seq - 1 else "0" * 64
    last = previous
    for row in rows:
        if row.seq < seq:
            continue
        actor = "user:faussaire" if row.seq == seq else row.actor
        body = entry_body(
            tenant=row.tenant,
            seq=row.seq,
            kind=row.kind,
            case_id=str(row.case_id) if row.case_id else None,
            actor=actor,
            payload=row.payload,
            recorded_at=row.recorded_at,
            prev_hash=previous,
        )
        last = link_hash(body)
        conn.execute(
            update(t.journal)
            .where(t.journal.c.tenant == tenant, t.journal.c.seq == row.seq)
            .values(actor=actor, prev_hash=previous, hash=last)
        )
        previous = last
    conn.execute(
        update(t.journal_heads).where(t.journal_heads.c.tenant == tenant).values(hash=last)
    )


def _truncate_from(conn: Connection, tenant: str, seq: int) -> None:
    """Delete entries from `seq` on and move the head back to the entry before: a valid chain."""
    conn.execute(delete(t.journal).where(t.journal.c.tenant == tenant, t.journal.c.seq >= seq))
    before = conn.execute(
        select(t.journal.c.hash).where(t.journal.c.tenant == tenant, t.journal.c.seq == seq - 1)
    ).scalar_one()
    conn.execute(
        update(t.journal_heads)
        .where(t.journal_heads.c.tenant == tenant)
        .values(seq=seq - 1, hash=before)
    )


def _head(p: Platform, tenant: str = SIREN_A) -> int:
    with p.uow() as uow:
        return uow.journal.head(tenant)[0]


def _chain_only_intact(p: Platform) -> bool:
    with p.uow() as uow:
        return verify_journal(uow, SIREN_A).intact


def test_a_fresh_tenant_is_sealed_at_creation(
    make_platform: PlatformFactory, setup: ArchiveSetup
) -> None:
    p = make_platform()
    with setup.store() as store:
        stored = load_journal_seals(store, setup.bucket(SIREN_B), SIREN_B)
    assert [s.number for s in stored] == [1] and stored[0].first_seq == 1
    report = _verify(p, setup, SIREN_B)
    assert report.intact, report.findings
    assert report.seals == 1 and report.unsealed == report.head_seq - stored[0].last_seq


def test_an_untouched_journal_with_an_archived_case_verifies(
    make_platform: PlatformFactory, setup: ArchiveSetup
) -> None:
    p = make_platform()
    archived_case(p)
    report = _verify(p, setup)
    assert report.intact, report.findings
    # Sealed at tenant creation and at the archived package, without anybody asking.
    assert report.seals == 2 and 0 < report.unsealed < 3


def _running_case(p: Platform, setup: ArchiveSetup) -> tuple[int, object]:
    """A case waiting on its signature, then a seal: returns the last sealed entry and the case."""
    with p.uow() as uow:
        document = add_document(uow, p)
        uow.commit()
    case = start(p, "archive_test", {"document": document.reference(), "typologie": "test"})
    seal = seal_tenant_journal(p.uow, setup, SIREN_A, now=p.clock())
    assert seal is not None
    report = _verify(p, setup)
    assert report.intact, report.findings
    return seal.last_seq, case


def add_document(uow, p: Platform):  # type: ignore[no-untyped-def]
    from engine.services.documents import store_document

    return store_document(
        uow,
        tenant=SIREN_A,
        name="projet.pdf",
        content=make_pdf(pages=1),
        actor=AGENT,
        now=p.clock(),
        max_bytes=10_000_000,
    )


def test_a_consistent_rewrite_from_a_sealed_entry_is_found(
    make_platform: PlatformFactory, setup: ArchiveSetup
) -> None:
    p = make_platform()
    sealed, _case = _running_case(p, setup)
    with p.db.begin() as conn:
        _rewrite_from(conn, SIREN_A, 3)
    assert _chain_only_intact(p)  # the chain and its head row agree: the old check saw nothing
    report = _verify(p, setup)
    assert any("ne correspondent plus à la racine" in f for f in report.findings), report.findings
    assert sealed >= 3


def test_a_truncation_of_sealed_entries_is_found(
    make_platform: PlatformFactory, setup: ArchiveSetup
) -> None:
    p = make_platform()
    sealed, _case = _running_case(p, setup)
    with p.db.begin() as conn:
        _truncate_from(conn, SIREN_A, sealed - 1)
    assert _chain_only_intact(p)
    report = _verify(p, setup)
    assert any("Journal tronqué" in f for f in report.findings), report.findings
    assert any("entrées scellées manquent" in f for f in report.findings), report.findings


def test_deleting_the_newest_unsealed_entries_is_found_through_the_records(
    make_platform: PlatformFactory, setup: ArchiveSetup
) -> None:
    p = make_platform()
    sealed, case = _running_case(p, setup)
    complete(p, case, "signer", {"confirme": True}, actor=MAIRE)
    with p.uow() as uow:
        add_case_document(
            uow,
            tenant=SIREN_A,
            case_id=case.id,  # type: ignore[attr-defined]
            name="annexe.pdf",
            content=make_pdf(pages=1),
            actor=AGENT,
            now=p.clock(),
            max_bytes=10_000_000,
        )
        uow.commit()
    assert _verify(p, setup).intact
    with p.db.begin() as conn:
        _truncate_from(conn, SIREN_A, sealed + 2)  # keep the seal's own entry
    assert _chain_only_intact(p)
    report = _verify(p, setup)
    assert report.head_seq == sealed + 1 and report.unsealed == 1
    assert any("étape(s) au journal" in f for f in report.findings), report.findings
    assert any("« annexe.pdf »" in f for f in report.findings), report.findings


def test_seal_rows_deleted_or_altered_in_the_database_are_found_against_the_locked_copy(
    make_platform: PlatformFactory, setup: ArchiveSetup
) -> None:
    p = make_platform()
    sealed, _case = _running_case(p, setup)
    # The forger rewrites the journal, then removes the seal that covered it from the database
    # and makes the first seal's row agree with the rewritten entries.
    with p.db.begin() as conn:
        _rewrite_from(conn, SIREN_A, 2)
        conn.execute(
            delete(a.archive_journal_seals).where(
                a.archive_journal_seals.c.tenant == SIREN_A, a.archive_journal_seals.c.number == 2
            )
        )
        conn.execute(
            update(a.archive_journal_seals)
            .where(
                a.archive_journal_seals.c.tenant == SIREN_A, a.archive_journal_seals.c.number == 1
            )
            .values(merkle_root="0" * 64)
        )
    report = _verify(p, setup)
    assert any(
        "n° 2 présent dans le stockage verrouillé mais supprimé de la base" in f
        for f in report.findings
    ), report.findings
    assert any("n° 1 : la base diffère de la copie verrouillée" in f for f in report.findings)
    assert any("ne correspondent plus à la racine" in f for f in report.findings)
    assert report.sealed_up_to == sealed


def test_the_cli_checks_the_seals_by_default_and_fails_with_one_line_per_finding(
    make_platform: PlatformFactory, setup: ArchiveSetup, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = make_platform()
    sealed, _case = _running_case(p, setup)
    use_platform_env(p, monkeypatch)
    runner = CliRunner()
    result = runner.invoke(audit_cli, ["verify", "--tenant", SIREN_A])
    assert result.exit_code == 0, result.output
    assert "journal intègre" in result.output and "pas encore scellée" in result.output
    with p.db.begin() as conn:
        _rewrite_from(conn, SIREN_A, 2)
    result = runner.invoke(audit_cli, ["verify", "--tenant", SIREN_A])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert any("ne correspondent plus à la racine" in line for line in lines), lines
    assert lines[-1].startswith("erreur : journal non conforme")
    assert "Traceback" not in result.output
    # The chain alone (the old check) still passes the rewrite: it is no longer the default.
    chain_only = runner.invoke(audit_cli, ["verify", "--tenant", SIREN_A, "--chain-only"])
    assert chain_only.exit_code == 0 and "sceaux non vérifiés" in chain_only.output
    assert sealed > 2


def test_the_periodic_seal_is_a_beat_entry_with_a_configurable_period(
    make_platform: PlatformFactory, setup: ArchiveSetup
) -> None:
    from engine.settings import StorageSettings
    from engine.worker.app import make_celery

    p = make_platform()
    default = make_celery(p.settings).conf.beat_schedule["seal-journals"]
    assert default["task"] == "dematflow.seal_journals" and default["schedule"] == 3600.0
    storage = StorageSettings(journal_seal_period_seconds=600)
    quicker = make_celery(p.settings.model_copy(update={"storage": storage}))
    assert quicker.conf.beat_schedule["seal-journals"]["schedule"] == 600
    # What the beat runs: every tenant's new entries get sealed, and the report says so.
    start(p, "archive_test", {"document": _stored_reference(p), "typologie": "test"})
    assert _verify(p, setup).unsealed > 1
    from engine.jobs.journal_seals import seal_all_journals

    assert seal_all_journals(p.uow, setup, now=p.clock()) == 2
    report = _verify(p, setup)
    assert report.intact and report.unsealed == 1  # the seal's own entry


def _stored_reference(p: Platform) -> dict[str, object]:
    with p.uow() as uow:
        document = add_document(uow, p)
        uow.commit()
    return document.reference()


def test_a_store_outage_delays_the_seal_but_never_the_tenant(
    make_platform: PlatformFactory,
) -> None:
    from engine.services.archives.setup import archive_setup
    from tests.engine.archives.conftest import closed_port

    down = make_platform(endpoint=closed_port())  # creates both tenants: no seal possible
    with down.uow() as uow:
        assert uow.tenants.get(SIREN_A) is not None
        assert uow.archives.seals(SIREN_A) == []
    with pytest.raises(ArchivingError):
        verify_journal_completeness(down.uow, archive_setup(down.settings), SIREN_A)
    # The store is back: the periodic seal catches up and the journal verifies.
    up = make_platform()
    setup = archive_setup(up.settings)
    assert seal_tenant_journal(up.uow, setup, SIREN_A, now=up.clock()) is not None
    assert _verify(up, setup).intact
