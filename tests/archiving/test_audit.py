"""Fixity audit on a real SeaweedFS: batches with a cursor, and tampering behind S3's back."""

from __future__ import annotations

import io
import json
import urllib.request

import pytest

from archiving.audit import audit_journal_seals, audit_packages
from archiving.bag import build_package
from archiving.digests import digest_bytes
from archiving.store import package_key, prepare_tenant_bucket, store_package
from archiving.verify import FindingKind
from tests.archiving.conftest import sample_spec

pytestmark = pytest.mark.integration


def _store_cases(tmp_path, store, bucket, sealer, ids):
    prepare_tenant_bucket(store, bucket)
    for package_id in ids:
        built = build_package(
            sample_spec(tmp_path / "in", package_id), tmp_path / "out", sealer=sealer
        )
        store_package(store, bucket, built)


def _overwrite_behind_s3(s3_server, bucket: str, key: str, data: bytes) -> None:
    """Rewrite the bytes of the locked version through the filer API (no S3, no lock check)."""
    listing = urllib.request.Request(
        f"{s3_server.filer_url}/buckets/{bucket}/{key}.versions/",
        headers={"Accept": "application/json"},
    )
    with urllib.request.urlopen(listing, timeout=5) as response:
        entries = json.loads(response.read())["Entries"]
    target = entries[0]["FullPath"]
    request = urllib.request.Request(f"{s3_server.filer_url}{target}", data=data, method="PUT")
    with urllib.request.urlopen(request, timeout=5) as response:
        response.read()


def test_audit_runs_in_batches_with_a_cursor(tmp_path, object_store, sealer, seal_verifier) -> None:
    bucket = "audit-batches"
    ids = ["case-a", "case-b", "case-c"]
    _store_cases(tmp_path, object_store, bucket, sealer, ids)
    seen, cursor, reports = [], None, 0
    while True:
        report = audit_packages(
            object_store, bucket, seal_verifier=seal_verifier, cursor=cursor, batch_size=2
        )
        assert report.intact, report.findings
        seen += report.packages_checked
        reports += 1
        cursor = report.next_cursor
        if cursor is None:
            break
    assert seen == ids and reports == 2
    assert report.objects_checked > 0 and report.bytes_read > 0


def test_audit_finds_every_kind_of_tampering(
    tmp_path, s3_server, object_store, sealer, seal_verifier
) -> None:
    bucket = "audit-tamper"
    _store_cases(tmp_path, object_store, bucket, sealer, ["case-a", "case-b", "case-c"])
    document = package_key("case-a", "data/documents/deliberation.pdf")
    original = object_store.read_digest(bucket, document)[0]
    _overwrite_behind_s3(s3_server, bucket, document, b"X" * original)
    forged = b"External-Identifier: case-b\n"
    object_store.put(
        bucket,
        package_key("case-b", "bag-info.txt"),
        io.BytesIO(forged),
        digest_bytes(forged),
        retain_until=None,
    )

    report = audit_packages(
        object_store,
        bucket,
        seal_verifier=seal_verifier,
        expected=["case-a", "case-b", "case-c", "case-z"],
    )
    found = {(f.package_id, f.kind, f.path) for f in report.findings}
    # Rewritten behind S3's back, the locked version is either altered or no longer served.
    assert found & {
        ("case-a", FindingKind.ALTERED, "data/documents/deliberation.pdf"),
        ("case-a", FindingKind.MISSING, "data/documents/deliberation.pdf"),
    }
    assert ("case-b", FindingKind.EXTRA_VERSION, "bag-info.txt") in found
    assert ("case-b", FindingKind.ALTERED, "bag-info.txt") in found
    assert ("case-z", FindingKind.MISSING, "") in found
    assert not any(f.package_id == "case-c" for f in report.findings)
    assert report.next_cursor is None


def test_audit_checks_journal_seals(
    tmp_path, object_store, locked_bucket, timestamper, timestamp_verifier
) -> None:
    from datetime import UTC, datetime, timedelta

    from archiving.journal_seal import JournalEntryRef, seal_journal
    from archiving.store import journal_seal_key, store_journal_seal

    now = datetime.now(UTC)
    entries = [JournalEntryRef(seq=i, hash=f"{i:064x}") for i in range(1, 4)]
    seal = seal_journal(entries, scope="213800000", previous=None, timestamper=timestamper, now=now)
    store_journal_seal(object_store, locked_bucket, seal, retain_until=now + timedelta(days=1))
    assert (
        audit_journal_seals(
            object_store, locked_bucket, "213800000", timestamp_verifier=timestamp_verifier
        )
        == ()
    )
    tampered = seal.to_json().replace(seal.merkle_root.encode(), b"0" * 64)
    object_store.put(
        locked_bucket,
        journal_seal_key("213800000", 1),
        io.BytesIO(tampered),
        digest_bytes(tampered),
        retain_until=None,
    )
    findings = audit_journal_seals(
        object_store, locked_bucket, "213800000", timestamp_verifier=timestamp_verifier
    )
    assert findings and all(f.kind == FindingKind.BROKEN_SEAL for f in findings)
