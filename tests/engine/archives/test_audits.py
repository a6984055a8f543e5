"""Journal seals with inclusion proofs, and the batched fixity audit finding real tampering."""

from __future__ import annotations

import io
import json
import urllib.request
from dataclasses import replace
from datetime import timedelta
from itertools import pairwise

import pytest
from sqlalchemy import update

from archiving.digests import digest_bytes
from archiving.store import package_key
from devstack.s3 import SeaweedServer
from engine.domain.journal import hash_of
from engine.jobs.archive_audits import audit_batch
from engine.jobs.journal_seals import seal_tenant_journal
from engine.persistence import tables as t
from engine.services.archives.journal_checks import check_journal_entry, prove_journal_entry
from engine.services.archives.setup import ArchiveSetup
from tests.engine.archives.conftest import PlatformFactory, archived_case, package_of
from tests.engine.support import SIREN_A

pytestmark = pytest.mark.integration


def _tamper_behind_s3(server: SeaweedServer, bucket: str, key: str, data: bytes) -> None:
    """Rewrite the bytes of the locked version through the filer (no S3, no lock check)."""
    listing = urllib.request.Request(
        f"{server.filer_url}/buckets/{bucket}/{key}.versions/",
        headers={"Accept": "application/json"},
    )
    with urllib.request.urlopen(listing, timeout=5) as response:
        target = json.loads(response.read())["Entries"][0]["FullPath"]
    request = urllib.request.Request(f"{server.filer_url}{target}", data=data, method="PUT")
    with urllib.request.urlopen(request, timeout=5) as response:
        response.read()


def _full_audit(p, setup: ArchiveSetup, batch_size: int):  # type: ignore[no-untyped-def]
    runs = []
    while True:
        run = audit_batch(p.uow, setup, SIREN_A, now=p.clock(), batch_size=batch_size)
        assert run is not None and run.error is None
        runs.append(run)
        if run.finished_at is not None:
            break
    with p.uow() as uow:
        return runs, uow.archives.findings(SIREN_A, runs[-1].id)


def test_journal_seals_chain_and_prove_single_entries(
    make_platform: PlatformFactory, setup: ArchiveSetup
) -> None:
    p = make_platform()
    # Seal n° 1 was made when the tenant was created; the next ones chain to it.
    first = seal_tenant_journal(p.uow, setup, SIREN_A, now=p.clock())
    assert first is not None and first.number == 2 and first.first_seq == 2
    assert seal_tenant_journal(p.uow, setup, SIREN_A, now=p.clock()) is not None  # its own entry
    archived_case(p)  # sealed again when its package was archived
    third = seal_tenant_journal(p.uow, setup, SIREN_A, now=p.clock())
    assert third is not None and third.number == 5
    with p.uow() as uow:
        seals = uow.archives.seals(SIREN_A)
    assert seals[0].first_seq == 1 and [s.number for s in seals] == [1, 2, 3, 4, 5]
    assert all(b.previous == a.digest for a, b in pairwise(seals))
    seq = seals[3].first_seq + 2
    proof = prove_journal_entry(p.uow, SIREN_A, seq)
    assert proof.seal.number == 4 and check_journal_entry(p.uow, setup, proof) == ()
    # A forger rewrites a sealed entry in the database and recomputes its hash.
    with p.uow() as uow:
        entry = next(uow.journal.iter_entries(SIREN_A, after_seq=seq - 1))
        forged = replace(entry, actor="user:faussaire")
        uow.connection.execute(
            update(t.journal)
            .where(t.journal.c.tenant == SIREN_A, t.journal.c.seq == seq)
            .values(actor=forged.actor, hash=hash_of(forged))
        )
        uow.commit()
    problems = check_journal_entry(p.uow, setup, proof)
    assert any("modifiée depuis son scellement" in problem for problem in problems)
    _runs, findings = _full_audit(p, setup, batch_size=5)
    journal = [f for f in findings if f.path.startswith("journal")]
    assert any("ne correspondent plus à la racine" in f.message for f in journal), journal
    assert any("lien vers l'entrée précédente rompu" in f.message for f in journal), journal


def test_the_audit_runs_in_batches_and_reports_tampering(
    make_platform: PlatformFactory, setup: ArchiveSetup, s3_server: SeaweedServer
) -> None:
    p = make_platform()
    first = package_of(p, archived_case(p, title="arrete-1.pdf"))
    second = package_of(p, archived_case(p, title="arrete-2.pdf"))
    assert first is not None and second is not None
    seal_tenant_journal(p.uow, setup, SIREN_A, now=p.clock())
    runs, findings = _full_audit(p, setup, batch_size=1)
    assert [r.packages_checked for r in runs] == [1, 2] and findings == []
    assert runs[-1].objects_checked > 10
    # Nothing is due again until the next period.
    assert audit_batch(p.uow, setup, SIREN_A, now=p.clock()) is None
    bucket = setup.bucket(SIREN_A)
    document = next(o["key"] for o in first.objects or [] if "/data/documents/" in o["key"])
    _tamper_behind_s3(s3_server, bucket, document, b"%PDF-1.7 falsified")
    report_key = package_key(second.package_id, "bag-info.txt")
    with setup.store() as store:
        data = b"External-Identifier: autre\n"
        store.put(bucket, report_key, io.BytesIO(data), digest_bytes(data), retain_until=None)
    runs, findings = _full_audit(
        make_platform(clock=lambda: p.clock() + timedelta(days=2)),
        setup,
        batch_size=1,
    )
    kinds = {(f.package_id, f.kind) for f in findings}
    # Bytes changed behind S3's back: the recomputed digests no longer match the manifests.
    assert {k for pkg, k in kinds if pkg == first.package_id} & {"altered", "missing"}, findings
    assert (second.package_id, "extra-version") in kinds, findings
    assert (second.package_id, "altered") in kinds, findings
    assert runs[-1].findings_count == len(findings)
