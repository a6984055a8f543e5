"""`archiving.seal_case` in a real case: sealed, stored locked, verified, stored once, and a
storage outage leaves the case visibly waiting (never archived without a verified copy)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from archiving import verify_package
from archiving.audit import StoredPackageReader
from archiving.store import package_key
from devstack.pki import DevPki
from engine.cli.archives import group as archives_cli
from engine.domain.archives import ARCHIVED, WAITING
from engine.domain.model import CaseStatus, JobState
from engine.domain.training import TenantClock
from engine.operations.base import OperationRetry
from engine.services.archives.exports import export_package_dip
from engine.services.archives.setup import archive_setup, check_archive_storage
from engine.services.tenant_clock import make_training
from tests.engine.archives.conftest import (
    ARCHIVISTE,
    PlatformFactory,
    archived_case,
    closed_port,
    package_of,
    signed_case,
)
from tests.engine.support import OPERATOR, SIREN_A, call_operation, get, run_pending_jobs

pytestmark = pytest.mark.integration


def _trust_root_file(tmp_path: Path, dev_pki: DevPki) -> Path:
    path = tmp_path / "racine.der"
    path.write_bytes(dev_pki.trust_roots[0])
    return path


def test_a_closed_case_is_sealed_stored_locked_and_verifiable(
    make_platform: PlatformFactory, dev_pki: DevPki, tmp_path: Path
) -> None:
    p = make_platform()
    case = archived_case(p)
    done = get(p, case)
    assert done.status == CaseStatus.COMPLETED
    package = package_of(p, case)
    assert package is not None and package.state == ARCHIVED and package.last_error is None
    from engine.services.archives.setup import archive_setup

    setup = archive_setup(p.settings)
    with setup.store() as store:
        versions = store.versions(setup.bucket(SIREN_A), package_key(package.package_id))
        reader = StoredPackageReader(store, setup.bucket(SIREN_A), package.package_id, versions)
        names = reader.names()
        report = verify_package(reader, seal_verifier=setup.seal_verifier)
        info = store.stat(setup.bucket(SIREN_A), package_key(package.package_id, names[0]))
    assert report.intact, report.findings
    assert report.seal is not None and report.seal.valid and report.seal.timestamp is not None
    assert any(n.startswith("data/documents/01-arrete") for n in names)
    assert any(n.startswith("data/validation-reports/") for n in names)
    assert "data/journal/journal.jsonl" in names
    assert info is not None and info.lock_mode == "COMPLIANCE"
    assert info.retain_until is not None and info.retain_until.year >= p.clock().year + 10
    with p.uow() as uow:
        kinds = [e.kind for e in uow.journal.for_case(SIREN_A, case.id)]
        target = tmp_path / "dip.zip"
        export_package_dip(
            uow, setup, SIREN_A, package.package_id, target, actor=ARCHIVISTE, now=p.clock()
        )
        uow.commit()
    assert "archive.sealed" in kinds and kinds.index("archive.waiting") < kinds.index(
        "archive.sealed"
    )
    root = _trust_root_file(tmp_path, dev_pki)
    result = CliRunner().invoke(
        archives_cli,
        [
            "verify",
            str(target),
            "--package-id",
            package.package_id,
            "--trust-root",
            str(root),
            "--seal-fingerprint",
            hashlib.sha256(dev_pki.seal.cert_path.read_bytes()).hexdigest(),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "paquet intègre" in result.output


def test_a_training_tenant_ahead_of_time_seals_a_package_dated_in_real_time(
    make_platform: PlatformFactory,
) -> None:
    """The tenant's clock runs months ahead, the seal's timestamp is real: the package's own
    dates (message, bagging, closing) are real too, or the verifier would call the seal
    back-dated."""
    p = make_platform()
    with p.uow() as uow:
        make_training(uow, tenant=SIREN_A, actor=OPERATOR, now=p.clock())
        uow.tenants.set_clock(SIREN_A, TenantClock(True, timedelta(days=120)))
        uow.commit()
    case = archived_case(p)
    package = package_of(p, case)
    assert package is not None and package.state == ARCHIVED
    with p.uow() as uow:
        sealed = [e for e in uow.journal.for_case(SIREN_A, case.id) if e.kind == "archive.sealed"]
    assert sealed[0].recorded_at - datetime.now(UTC) > timedelta(days=119), "the tenant's time"
    setup = archive_setup(p.settings)
    with setup.store() as store:
        versions = store.versions(setup.bucket(SIREN_A), package_key(package.package_id))
        reader = StoredPackageReader(store, setup.bucket(SIREN_A), package.package_id, versions)
        report = verify_package(reader, seal_verifier=setup.seal_verifier)
    assert not [f for f in report.findings if "antidaté" in f.message], report.findings
    assert report.intact, report.findings
    assert package.closed_at - datetime.now(UTC) < timedelta(hours=1)


def test_the_package_is_stored_once_even_if_the_job_runs_again(
    make_platform: PlatformFactory,
) -> None:
    p = make_platform()
    case = archived_case(p)
    package = package_of(p, case)
    assert package is not None
    # A run that stored everything but died before recording it: the row says waiting again.
    with p.uow() as uow:
        uow.archives.update(SIREN_A, package.package_id, p.clock(), state=WAITING)
        uow.commit()
    setup = archive_setup(p.settings)
    result = call_operation(
        p,
        "archiving.seal_case",
        {"typologie": "test_archive"},
        case_id=case.id,
        key="second-run",
    )
    assert result["paquet"] == package.package_id and result["statut"] == "archivé"
    with setup.store() as store:
        versions = store.versions(setup.bucket(SIREN_A), package_key(package.package_id))
    assert versions and all(not v.is_delete_marker for v in versions)
    assert len({v.key for v in versions}) == len(versions)  # one version per object
    with p.uow() as uow:
        sealed = [
            e.payload for e in uow.journal.for_case(SIREN_A, case.id) if e.kind == "archive.sealed"
        ]
    assert [s["already_stored"] for s in sealed] == [False, True]
    assert sealed[0]["seal_sha512"] == sealed[1]["seal_sha512"]


def test_a_storage_outage_leaves_the_case_waiting_then_it_is_archived(
    make_platform: PlatformFactory,
) -> None:
    down = make_platform(endpoint=closed_port())
    case = signed_case(down)
    with pytest.raises(OperationRetry):
        run_pending_jobs(down, case)
    waiting = get(down, case)
    package = package_of(down, case)
    assert waiting.status == CaseStatus.RUNNING and waiting.current_steps == (
        "Archiver le dossier (paquet scellé)",
    )
    assert package is not None and package.state == WAITING
    assert package.last_error and "injoignable" in package.last_error
    with down.uow() as uow:
        job = next(
            j for j in uow.jobs.for_case(SIREN_A, case.id) if j.operation == "archiving.seal_case"
        )
    assert job.state == JobState.SENT
    unconfigured = make_platform(endpoint=None)
    with pytest.raises(OperationRetry, match="stockage d'archives non configuré"):
        run_pending_jobs(unconfigured, case)
    back = make_platform()
    assert [o.state for o in run_pending_jobs(back, case)] == [JobState.DONE]
    package = package_of(back, case)
    assert package is not None and package.state == ARCHIVED
    done = get(back, case)
    assert done.status == CaseStatus.COMPLETED and done.data["archivage"]["statut"] == "archivé"


def test_a_bucket_without_object_lock_is_refused(make_platform: PlatformFactory) -> None:
    # Tenants created while the store is down have no bucket yet (it is otherwise made, locked,
    # with the journal seal at their creation); someone then creates it without Object Lock.
    make_platform(endpoint=closed_port())
    p = make_platform()
    setup = archive_setup(p.settings)
    with setup.store() as store:
        store.create_bucket(setup.bucket(SIREN_A), object_lock=False)
    problems = check_archive_storage(p.uow, setup)
    assert "Object Lock" in problems[SIREN_A] and len(problems) == 1
    case = signed_case(p)
    with pytest.raises(OperationRetry, match="Object Lock"):
        run_pending_jobs(p, case)
    package = package_of(p, case)
    assert package is not None and package.state == WAITING
    assert get(p, case).status == CaseStatus.RUNNING
