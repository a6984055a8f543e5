"""Two copies on two real SeaweedFS servers: both written and locked before "archivé", both
audited, a damaged copy repaired from the intact one (journaled), a store lost and reconciled."""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from minio import Minio

from archiving.audit import PRIMARY, SECONDARY, StoreCopy, audit_two_copies
from archiving.bag import SEAL
from archiving.digests import digest_bytes
from archiving.storage.s3 import ObjectStore
from archiving.store import package_key
from devstack.pki import DevPki
from devstack.s3 import SeaweedServer, start_seaweed
from engine.bootstrap import Platform, build_platform
from engine.domain.archives import ARCHIVED, WAITING
from engine.domain.model import JobState
from engine.jobs.archive_audits import audit_batch
from engine.operations.base import OperationRetry
from engine.services.archives.exports import (
    export_package_dip,
    export_tenant_archives,
    verify_stored_package,
)
from engine.services.archives.journal_checks import check_journal_completeness
from engine.services.archives.setup import (
    ArchiveSetup,
    ArchiveUnavailable,
    archive_setup,
    secondary_s3_config,
)
from engine.settings import (
    PKISettings,
    S3Identity,
    SecondaryStorageSettings,
    Settings,
    StorageSettings,
)
from tests.engine.archives.conftest import (
    ARCHIVISTE,
    _prepare,
    archived_case,
    package_of,
    signed_case,
)
from tests.engine.archives.conftest import storage_for as primary_storage
from tests.engine.archives.test_audits import _tamper_behind_s3
from tests.engine.support import SIREN_A, run_pending_jobs

pytestmark = pytest.mark.integration

SECRET = secrets.token_urlsafe(24)
ADMIN_SECRET = secrets.token_urlsafe(24)


def _start_second(data_dir: Path, s3_port: int | None = None) -> SeaweedServer:
    return start_seaweed(
        data_dir,
        access_key="dematflow-site2",
        secret_key=SECRET,
        admin_secret_key=ADMIN_SECRET,
        s3_port=s3_port,
    )


@pytest.fixture(scope="module")
def second_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """The secondary store of these tests (another site in production)."""
    server = _start_second(tmp_path_factory.mktemp("seaweedfs-site2"))
    try:
        yield server
    finally:
        server.stop()


def secondary_for(server: SeaweedServer, prefix: str) -> SecondaryStorageSettings:
    return SecondaryStorageSettings(
        endpoint=server.config.endpoint,
        access_key=server.config.access_key,
        secret_key=server.config.secret_key,
        bucket_prefix=prefix,
        bucket_admin=S3Identity(
            access_key=server.config.admin_access_key or "",
            secret_key=server.config.admin_secret_key or "",
        ),
        holds=S3Identity(
            access_key=server.holds_config.access_key, secret_key=server.holds_config.secret_key
        ),
    )


TwoStoreFactory = Callable[..., Platform]


@pytest.fixture
def two_stores(
    settings: Settings, dev_pki: DevPki, s3_server: SeaweedServer
) -> Iterator[Callable[[SeaweedServer, str], Callable[..., Platform]]]:
    """make(second, second_prefix)(clock=…) → a platform writing to both stores."""
    prefix = f"t{secrets.token_hex(4)}"
    built: list[Platform] = []

    def make(second: SeaweedServer, second_prefix: str) -> Callable[..., Platform]:
        def factory(clock: Callable[[], datetime] | None = None) -> Platform:
            storage = primary_storage(s3_server, prefix).model_copy(
                update={"secondary": secondary_for(second, second_prefix)}
            )
            platform = build_platform(
                settings.model_copy(
                    update={"pki": PKISettings(dev_dir=dev_pki.directory), "storage": storage}
                )
            )
            if clock is not None:
                platform.clock = clock
            if not built:
                _prepare(platform)
            built.append(platform)
            return platform

        return factory

    yield make
    for platform in built:
        platform.db.dispose()


def _full_audit(p: Platform, setup: ArchiveSetup) -> tuple[Any, list[Any]]:
    while True:
        run = audit_batch(p.uow, setup, SIREN_A, now=p.clock(), batch_size=1)
        assert run is not None and run.error is None, run
        if run.finished_at is not None:
            break
    with p.uow() as uow:
        return run, uow.archives.findings(SIREN_A, run.id)


def _journal(p: Platform, kind: str) -> list[dict[str, Any]]:
    with p.uow() as uow:
        return [e.payload for e in uow.journal.iter_entries(SIREN_A) if e.kind == kind]


def _latest(store: ObjectStore, bucket: str, package_id: str) -> dict[str, tuple[int, str]]:
    """Each object of the package as a plain GET reads it: key → (size, SHA-512)."""
    keys = {
        v.key
        for v in store.versions(bucket, package_key(package_id))
        if v.is_latest and not v.is_delete_marker
    }
    return {key: store.read_digest(bucket, key) for key in sorted(keys)}


def test_both_copies_written_locked_audited_and_repaired(
    two_stores: Any, second_server: SeaweedServer, s3_server: SeaweedServer
) -> None:
    factory = two_stores(second_server, f"s{secrets.token_hex(4)}")
    p = factory()
    setup = archive_setup(p.settings)
    first = package_of(p, archived_case(p, title="arrete-1.pdf"))
    second = package_of(p, archived_case(p, title="arrete-2.pdf"))
    assert first is not None and second is not None and first.state == ARCHIVED
    primary, secondary = setup.bucket(SIREN_A), setup.secondary_bucket(SIREN_A)
    with setup.store() as one, setup.secondary_store() as two:
        for package in (first, second):
            # Byte for byte the same package in both stores, each under its own COMPLIANCE lock
            # to the same retain-until; the second copy's versions are recorded.
            original = _latest(one, primary, package.package_id)
            assert _latest(two, secondary, package.package_id) == original
            for key in original:
                info = two.stat(secondary, key)
                assert info is not None and info.lock_mode == "COMPLIANCE"
                assert info.retain_until == package.retain_until
            with p.uow() as uow:
                record = uow.archives.copies(SIREN_A)[package.package_id]["secondary"]
            assert record["bucket"] == secondary
            assert {o["key"] for o in record["objects"]} == set(original)
    sealed = _journal(p, "archive.sealed")
    assert [s["secondary_bucket"] for s in sealed] == [secondary, secondary]
    run, findings = _full_audit(p, setup)
    assert findings == [] and run.packages_checked == 2
    with setup.store() as one:
        baseline_first = _latest(one, primary, first.package_id)
        baseline_second = _latest(one, primary, second.package_id)

    # Damage the first package's second copy: a document altered (a new version), bag-info.txt
    # deleted (a delete marker) and the seal overwritten by the same bytes without a lock.
    document = next(k for k in baseline_first if "/data/documents/" in k)
    bag_info = package_key(first.package_id, "bag-info.txt")
    seal = package_key(first.package_id, SEAL)
    with setup.secondary_store() as two:
        forged = b"%PDF-1.7 falsified"
        two.put(secondary, document, io.BytesIO(forged), digest_bytes(forged), retain_until=None)
        with two.open(secondary, seal) as stream:
            same = stream.read()
        two.put(secondary, seal, io.BytesIO(same), digest_bytes(same), retain_until=None)
    client = Minio(
        second_server.config.endpoint,
        access_key=second_server.config.access_key,
        secret_key=second_server.config.secret_key,
        secure=False,
    )
    client.remove_object(secondary, bag_info)
    # And the second package's primary copy, altered behind S3's back (no new version).
    other = next(k for k in baseline_second if "/data/documents/" in k)
    _tamper_behind_s3(s3_server, primary, other, b"%PDF-1.7 falsified")

    later = factory(clock=lambda: p.clock() + timedelta(days=2))
    run, findings = _full_audit(later, setup)
    by_package = {(f.package_id, f.message.split(" : ")[0]) for f in findings}
    assert (first.package_id, "Copie secondaire") in by_package, findings
    assert (second.package_id, "Copie primaire") in by_package, findings
    assert not any(
        f.message.startswith("Copie primaire") for f in findings if f.package_id == first.package_id
    )
    messages = " | ".join(f.message for f in findings if f.package_id == first.package_id)
    assert "non verrouillé" in messages and "version" in messages, messages
    repaired = {r["package"]: r for r in _journal(later, "archive.copy_repaired")}
    assert repaired[first.package_id]["store"] == "secondaire"
    assert repaired[second.package_id]["store"] == "primaire"
    rewritten = {r["key"] for r in repaired[first.package_id]["rewritten"]}
    assert {document, bag_info, seal} <= rewritten, rewritten
    assert {r["key"] for r in repaired[second.package_id]["rewritten"]} == {other}
    assert repaired[first.package_id]["findings"]
    assert _journal(later, "archive.copies_damaged") == []

    # Both copies are whole again, locked, and the next audit finds nothing.
    with setup.store() as one, setup.secondary_store() as two:
        assert _latest(two, secondary, first.package_id) == baseline_first
        assert _latest(one, primary, second.package_id) == baseline_second
        for key in (document, bag_info, seal):
            info = two.stat(secondary, key)
            assert info is not None and info.lock_mode == "COMPLIANCE"
            assert info.retain_until == first.retain_until
    again = factory(clock=lambda: p.clock() + timedelta(days=4))
    run, findings = _full_audit(again, setup)
    assert findings == [] and run.packages_checked == 2, findings
    assert len(_journal(again, "archive.copy_repaired")) == 2


def test_a_package_damaged_in_both_copies_is_reported_not_repaired(
    two_stores: Any, second_server: SeaweedServer
) -> None:
    factory = two_stores(second_server, f"s{secrets.token_hex(4)}")
    p = factory()
    setup = archive_setup(p.settings)
    package = package_of(p, archived_case(p))
    assert package is not None
    key = package_key(package.package_id, "bag-info.txt")
    forged = b"External-Identifier: autre\n"
    with setup.store() as one, setup.secondary_store() as two:
        one.put(
            setup.bucket(SIREN_A), key, io.BytesIO(forged), digest_bytes(forged), retain_until=None
        )
        two.put(
            setup.secondary_bucket(SIREN_A),
            key,
            io.BytesIO(forged),
            digest_bytes(forged),
            retain_until=None,
        )
    _run, findings = _full_audit(p, setup)
    assert {f.message.split(" : ")[0] for f in findings} == {"Copie primaire", "Copie secondaire"}
    assert _journal(p, "archive.copy_repaired") == []
    damaged = _journal(p, "archive.copies_damaged")
    assert [d["package"] for d in damaged] == [package.package_id] and damaged[0]["findings"]

    # A package the platform no longer archives (destroyed on the primary) that the second site
    # still keeps: reported for the archivist, neither "repaired" back nor journaled as damaged.
    empty = f"empty-{secrets.token_hex(4)}"
    with setup.store() as one, setup.secondary_store() as two:
        one.create_bucket(empty, object_lock=True)
        result = audit_two_copies(
            StoreCopy(PRIMARY, one, empty),
            StoreCopy(SECONDARY, two, setup.secondary_bucket(SIREN_A)),
            seal_verifier=setup.seal_verifier,
            retain_until={},
        )
        assert one.versions(empty, "") == []
    assert result.repairs == () and result.unrepaired == ()
    [leftover] = [f for f in result.report.findings if f.package_id == package.package_id]
    assert leftover.kind == "unlisted" and "gardé par la copie secondaire" in leftover.message


def test_losing_the_secondary_store_loses_nothing(two_stores: Any, tmp_path: Path) -> None:
    site2 = _start_second(tmp_path / "site2")
    port = int(site2.config.endpoint.rsplit(":", 1)[1])
    try:
        prefix = f"s{secrets.token_hex(4)}"
        factory = two_stores(site2, prefix)
        p = factory()
        setup = archive_setup(p.settings)
        before = package_of(p, archived_case(p, title="avant.pdf"))
        assert before is not None
        site2.stop()

        # The secondary is down: the package waits (never "archivé" with one copy) and the
        # audit still checks the primary copy, reporting the secondary as unreachable.
        case = signed_case(p, title="pendant.pdf")
        with pytest.raises(OperationRetry, match="copie secondaire non faite"):
            run_pending_jobs(p, case)
        waiting = package_of(p, case)
        assert waiting is not None and waiting.state == WAITING
        assert waiting.last_error and "copie secondaire" in waiting.last_error
        run, findings = _full_audit(p, setup)
        # The waiting package's primary copy is stored already: audited too.
        assert run.packages_checked == 2
        # (and the objects beside the packages are not compared: "journal" finding)
        assert {f.package_id for f in findings} == {
            before.package_id,
            waiting.package_id,
            "journal",
        }
        assert all("Copie secondaire injoignable" in f.message for f in findings), findings

        # It comes back: the waiting package is archived with both copies.
        site2 = _start_second(tmp_path / "site2", s3_port=port)
        assert [o.state for o in run_pending_jobs(p, case)] == [JobState.DONE]
        during = package_of(p, case)
        assert during is not None and during.state == ARCHIVED
        with setup.store() as one, setup.secondary_store() as two:
            for package in (before, during):
                assert _latest(two, setup.secondary_bucket(SIREN_A), package.package_id) == (
                    _latest(one, setup.bucket(SIREN_A), package.package_id)
                )
        later = factory(clock=lambda: p.clock() + timedelta(days=2))
        run, findings = _full_audit(later, setup)
        # The journal seals made while it was out are copied to it, journaled; then all is well.
        assert all(f.message.startswith("Copie secondaire : ") for f in findings), findings
        assert {f.path.split("/")[0] for f in findings} <= {"journal-seals"}, findings
        assert {r.get("object", "")[:14] for r in _journal(later, "archive.copy_repaired")} <= {
            "journal-seals/"
        }
        run, findings = _full_audit(factory(clock=lambda: p.clock() + timedelta(days=3)), setup)
        assert findings == [] and run.packages_checked == 2

        # The site is lost for good and replaced by an empty one (here: fresh buckets): the
        # audit reconciles, every package is copied back from the primary, journaled.
        fresh = two_stores(site2, f"n{secrets.token_hex(4)}")
        rebuilt = fresh(clock=lambda: p.clock() + timedelta(days=4))
        setup2 = archive_setup(rebuilt.settings)
        run, findings = _full_audit(rebuilt, setup2)
        # Its packages and every journal seal ("journal") are copied back.
        assert {f.package_id for f in findings} == {
            before.package_id,
            during.package_id,
            "journal",
        }
        assert all(f.message.startswith("Copie secondaire") for f in findings), findings
        repaired = [r for r in _journal(rebuilt, "archive.copy_repaired") if "object" not in r]
        assert {r["package"] for r in repaired} == {before.package_id, during.package_id}
        assert {r["store"] for r in repaired} == {"secondaire"}
        with setup2.store() as one, setup2.secondary_store() as two:
            for package in (before, during):
                assert _latest(two, setup2.secondary_bucket(SIREN_A), package.package_id) == (
                    _latest(one, setup2.bucket(SIREN_A), package.package_id)
                )
        final = fresh(clock=lambda: p.clock() + timedelta(days=6))
        run, findings = _full_audit(final, setup2)
        assert findings == [] and run.packages_checked == 2
    finally:
        site2.stop()


PRIMARY_SECRET = secrets.token_urlsafe(24)
PRIMARY_HOLDS_SECRET = secrets.token_urlsafe(24)
PRIMARY_ADMIN_SECRET = secrets.token_urlsafe(24)


def _start_primary(data_dir: Path, s3_port: int | None = None) -> SeaweedServer:
    """A primary store of its own (the session's is shared): stopped and restarted here."""
    return start_seaweed(
        data_dir,
        access_key="dematflow-site1",
        secret_key=PRIMARY_SECRET,
        holds_secret_key=PRIMARY_HOLDS_SECRET,
        admin_secret_key=PRIMARY_ADMIN_SECRET,
        s3_port=s3_port,
    )


def test_losing_the_primary_store_loses_nothing(
    settings: Settings, dev_pki: DevPki, tmp_path: Path
) -> None:
    site1 = _start_primary(tmp_path / "site1")
    site2 = _start_second(tmp_path / "site2")
    port = int(site1.config.endpoint.rsplit(":", 1)[1])
    storage = site1.storage_settings(
        f"t{secrets.token_hex(4)}",
        default_retention_days=0,
        secondary=secondary_for(site2, f"s{secrets.token_hex(4)}"),
    )
    built: list[Platform] = []

    def factory(clock: Callable[[], datetime] | None = None) -> Platform:
        platform = build_platform(
            settings.model_copy(
                update={"pki": PKISettings(dev_dir=dev_pki.directory), "storage": storage}
            )
        )
        if clock is not None:
            platform.clock = clock
        if not built:
            _prepare(platform)
        built.append(platform)
        return platform

    try:
        p = factory()
        setup = archive_setup(p.settings)
        before = package_of(p, archived_case(p, title="avant.pdf"))
        assert before is not None
        site1.stop()

        # The primary is down: a new package waits (nothing is "archivé" before both copies
        # are written and read back) and the audit checks the second copy.
        case = signed_case(p, title="pendant.pdf")
        with pytest.raises(OperationRetry):
            run_pending_jobs(p, case)
        waiting = package_of(p, case)
        assert waiting is not None and waiting.state == WAITING
        run, findings = _full_audit(p, setup)
        assert run.packages_checked == 1
        assert {f.package_id for f in findings} == {before.package_id, "journal"}, findings
        assert all("Copie primaire injoignable" in f.message for f in findings), findings

        # Reading never waits for both: verification, DIP and tenant export from the second.
        with p.uow() as uow:
            report = verify_stored_package(uow, setup, SIREN_A, before.package_id)
            assert report.intact and report.package_id == before.package_id, report
            manifest = export_package_dip(
                uow,
                setup,
                SIREN_A,
                before.package_id,
                tmp_path / "dip.zip",
                actor=ARCHIVISTE,
                now=p.clock(),
            )
            counts = export_tenant_archives(
                uow, setup, SIREN_A, tmp_path / "export", actor=ARCHIVISTE, now=p.clock()
            )
            uow.commit()
        with p.uow() as uow:  # `audit verify` reads the journal seals from the second copy
            verification = check_journal_completeness(uow, setup, SIREN_A)
        with p.uow() as uow:
            assert verification.seals == len(uow.archives.seals(SIREN_A)) > 0
        assert manifest["files"] and counts["packages"] >= 1
        exported = tmp_path / "export" / "stockage"
        assert any(before.package_id in str(path) for path in exported.rglob("*"))

        # It comes back: the waiting package is archived with both copies; all is well.
        site1 = _start_primary(tmp_path / "site1", s3_port=port)
        assert [o.state for o in run_pending_jobs(p, case)] == [JobState.DONE]
        during = package_of(p, case)
        assert during is not None and during.state == ARCHIVED
        with setup.store() as one, setup.secondary_store() as two:
            for package in (before, during):
                assert _latest(two, setup.secondary_bucket(SIREN_A), package.package_id) == (
                    _latest(one, setup.bucket(SIREN_A), package.package_id)
                )
        later = factory(clock=lambda: p.clock() + timedelta(days=2))
        run, findings = _full_audit(later, setup)
        assert findings == [] and run.packages_checked == 2, findings
    finally:
        for platform in built:
            platform.db.dispose()
        site1.stop()
        site2.stop()


def test_a_secondary_endpoint_without_credentials_is_refused_not_ignored() -> None:
    storage = StorageSettings(secondary=SecondaryStorageSettings(endpoint="127.0.0.1:9"))
    with pytest.raises(ArchiveUnavailable, match="stockage secondaire incomplet"):
        secondary_s3_config(storage)
    assert secondary_s3_config(StorageSettings()) is None
