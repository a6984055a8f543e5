"""Renewal of the archival timestamps of archived signed PDFs: a locked copy beside the package.

Real dev PKI (live TSA and CRLs) and real SeaweedFS, on SQLite and PostgreSQL. The dev TSA
certificate is valid for 20 years: a 25-year horizon makes renewal due without faking time,
a 30-day horizon does not.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import inspect

from archiving import RetentionActiveError, audit_packages, verify_package
from archiving.audit import StoredPackageReader
from archiving.store import RENEWALS_PREFIX, package_key
from engine.bootstrap import Platform
from engine.cli.archives import group as archives_cli
from engine.domain.archives import ArchivedPackage
from engine.jobs.timestamp_renewal import (
    RenewalConfig,
    RenewalRun,
    renew_due_timestamps,
    renewal_config,
)
from engine.persistence.repositories import TimestampRenewalRepository
from engine.persistence.tables import metadata
from engine.services.archives.setup import ArchiveSetup
from signatures import (
    ValidationOptions,
    latest_document_timestamp,
    validate_pdf_for_archive,
)
from tests.engine.archives.conftest import (
    PlatformFactory,
    archived_case,
    package_of,
    use_platform_env,
)
from tests.engine.support import SIREN_A, SIREN_B

pytestmark = pytest.mark.integration

BEYOND_TSA_VALIDITY = timedelta(days=365 * 25)
FAR_FROM_EXPIRY = timedelta(days=30)


def _read(setup: ArchiveSetup, key: str, version_id: str | None = None) -> bytes:
    with setup.store() as store, store.open(setup.bucket(SIREN_A), key, version_id=version_id) as s:
        return s.read()


def _signed_pdf_key(package: ArchivedPackage) -> str:
    keys = [str(o["key"]) for o in package.objects or [] if str(o["key"]).endswith(".pdf")]
    assert len(keys) == 1, keys
    return keys[0]


def _renew(
    p: Platform, setup: ArchiveSetup, horizon: timedelta, tenant: str | None = None
) -> RenewalRun:
    # The TSA certificate's expiry alone: no algorithm sunset (tests/engine/archives/
    # test_renewed_copies.py has those).
    config = dataclasses.replace(renewal_config(p.settings), sunsets={})
    return renew_due_timestamps(p.uow, setup, config, tenant=tenant, horizon=horizon, now=p.clock())


def _trust_roots(p: Platform) -> tuple[bytes, ...]:
    config: RenewalConfig = renewal_config(p.settings)
    return config.trust_roots


def _package_intact(setup: ArchiveSetup, package: ArchivedPackage) -> None:
    with setup.store() as store:
        bucket = setup.bucket(SIREN_A)
        versions = store.versions(bucket, package_key(package.package_id))
        reader = StoredPackageReader(store, bucket, package.package_id, versions)
        report = verify_package(reader, seal_verifier=setup.seal_verifier)
        audit = audit_packages(store, bucket, seal_verifier=setup.seal_verifier)
    assert report.intact, report.findings
    assert audit.intact and audit.packages_checked == (package.package_id,), audit.findings


def test_a_timestamp_far_from_expiry_is_left_alone(p: Platform, setup: ArchiveSetup) -> None:
    package = package_of(p, archived_case(p))
    run = _renew(p, setup, FAR_FROM_EXPIRY)
    assert run.packages == 1 and run.timestamped_documents == 1
    assert run.renewed == () and run.problems == ()
    with setup.store() as store:
        assert store.versions(setup.bucket(SIREN_A), RENEWALS_PREFIX) == []
    with p.uow() as uow:
        assert (
            TimestampRenewalRepository(uow.connection).for_package(SIREN_A, package.package_id)
            == []
        )
        kinds = [e.kind for e in uow.journal.for_case(SIREN_A, package.case_id)]
    assert "archive.timestamp_renewed" not in kinds


def test_an_expiring_timestamp_gets_a_locked_renewed_copy_beside_the_package(
    p: Platform, setup: ArchiveSetup, tmp_path: Path
) -> None:
    package = package_of(p, archived_case(p))
    source = _signed_pdf_key(package)
    original = _read(setup, source)
    run = _renew(p, setup, BEYOND_TSA_VALIDITY)
    assert run.problems == ()
    assert len(run.renewed) == 1
    renewal = run.renewed[0]
    assert renewal.source_key == source and renewal.sequence == 1
    assert renewal.object_key.startswith(f"{RENEWALS_PREFIX}{package.package_id}/0001-")
    assert not renewal.object_key.startswith(package_key(package.package_id))

    copy = _read(setup, renewal.object_key, renewal.version_id)
    assert hashlib.sha256(copy).hexdigest() == renewal.sha256 and len(copy) == renewal.size
    assert copy.startswith(original), "the renewal is an incremental update of the archived PDF"
    assert latest_document_timestamp(copy).count == latest_document_timestamp(original).count + 1
    report = validate_pdf_for_archive(copy, ValidationOptions(trust_roots=_trust_roots(p)))
    assert report.valid, [s.problems for s in report.signatures]
    path = tmp_path / "renouvele.pdf"
    path.write_bytes(copy)
    pdfsig = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False)
    assert "Signature is Valid" in pdfsig.stdout

    with setup.store() as store:
        info = store.stat(setup.bucket(SIREN_A), renewal.object_key)
        assert info is not None and info.lock_mode == "COMPLIANCE"
        assert info.retain_until == package.retain_until == renewal.retain_until
        with pytest.raises(RetentionActiveError):
            store.delete_version(setup.bucket(SIREN_A), renewal.object_key, renewal.version_id)
    _package_intact(setup, package)

    with p.uow() as uow:
        rows = TimestampRenewalRepository(uow.connection).for_package(SIREN_A, package.package_id)
        entries = [
            e
            for e in uow.journal.for_case(SIREN_A, package.case_id)
            if e.kind == "archive.timestamp_renewed"
        ]
    assert rows == [renewal]
    assert len(entries) == 1
    assert entries[0].payload["message"] == "horodatage renouvelé"
    assert entries[0].payload["sha256"] == renewal.sha256
    assert entries[0].payload["object_key"] == renewal.object_key


def test_a_renewal_that_would_not_extend_protection_is_not_stored_again(
    p: Platform, setup: ArchiveSetup
) -> None:
    package = package_of(p, archived_case(p))
    first = _renew(p, setup, BEYOND_TSA_VALIDITY)
    assert len(first.renewed) == 1
    # The dev TSA still signs with the same certificate: a second copy would add nothing.
    second = _renew(p, setup, BEYOND_TSA_VALIDITY)
    assert second.renewed == ()
    assert len(second.problems) == 1 and "sans effet" in second.problems[0]
    with setup.store() as store:
        stored = [
            v
            for v in store.versions(setup.bucket(SIREN_A), RENEWALS_PREFIX)
            if not v.is_delete_marker
        ]
    assert [v.key for v in stored] == [first.renewed[0].object_key]
    _package_intact(setup, package)


def test_renewal_is_scoped_by_tenant(p: Platform, setup: ArchiveSetup) -> None:
    archived_case(p)
    run = _renew(p, setup, BEYOND_TSA_VALIDITY, tenant=SIREN_B)
    assert run.packages == 0 and run.renewed == ()


def test_cli_renews_timestamps_through_the_platform(
    make_platform: PlatformFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = make_platform()
    package = package_of(p, archived_case(p))
    use_platform_env(p, monkeypatch)
    # The TSA certificate's expiry alone: RSA 2048 (the dev TSA's key) reaches its default
    # sunset within the 25-year horizon, which would be reported.
    monkeypatch.setenv("DEMATFLOW_PKI__ALGORITHM_SUNSETS", '{"sha1": "2010-12-31"}')
    runner = CliRunner()
    result = runner.invoke(
        archives_cli, ["renew-timestamps", "--tenant", SIREN_A, "--horizon-days", "30"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["renewed"] == []
    result = runner.invoke(
        archives_cli,
        ["renew-timestamps", "--horizon-days", str(BEYOND_TSA_VALIDITY.days)],
    )
    assert result.exit_code == 0, result.output
    renewed = json.loads(result.output)["renewed"]
    assert [r["package"] for r in renewed] == [package.package_id]


def test_the_migration_creates_the_table_as_declared(p: Platform) -> None:
    with p.db.connect() as conn:
        assert "timestamp_renewals" in inspect(conn).get_table_names()
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert [d for d in differences if "timestamp_renewals" in repr(d)] == []
