"""Object Lock storage on a real SeaweedFS: locks hold, writes are verified, storing is idempotent."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest

from archiving.bag import SEAL, build_package
from archiving.digests import digest_bytes
from archiving.errors import (
    ObjectLockMissingError,
    RetentionActiveError,
    StorageError,
    StorageUnavailable,
    VerificationFailedError,
)
from archiving.storage.s3 import ObjectStore, S3Config
from archiving.store import (
    lock_end,
    package_key,
    prepare_tenant_bucket,
    set_package_legal_hold,
    store_package,
    tenant_bucket,
)
from tests.archiving.conftest import sample_spec

pytestmark = pytest.mark.integration


def _put_locked(store: ObjectStore, bucket: str, until: datetime) -> str:
    data = b"locked bytes"
    return store.put(bucket, "probe", io.BytesIO(data), digest_bytes(data), retain_until=until)


def test_compliance_object_cannot_be_deleted_nor_its_retention_shortened(
    object_store, locked_bucket
) -> None:
    until = datetime.now(UTC) + timedelta(days=1)
    version = _put_locked(object_store, locked_bucket, until)
    with pytest.raises(RetentionActiveError):
        object_store.delete_version(locked_bucket, "probe", version)
    with pytest.raises(StorageError):
        object_store.set_retention(
            locked_bucket, "probe", version, retain_until=until - timedelta(hours=12)
        )
    info = object_store.stat(locked_bucket, "probe")
    assert info is not None and info.lock_mode == "COMPLIANCE"
    assert info.retain_until is not None and info.retain_until >= until.replace(microsecond=0)
    assert (
        object_store.read_digest(locked_bucket, "probe", version_id=version)[1]
        == digest_bytes(b"locked bytes").sha512
    )


def test_wrong_checksum_is_refused_by_the_store(object_store, locked_bucket) -> None:
    lying = digest_bytes(b"something else")
    with pytest.raises(StorageError):
        object_store.put(
            locked_bucket, "bad", io.BytesIO(b"x" * lying.size), lying, retain_until=None
        )


def test_store_refuses_a_bucket_without_object_lock(tmp_path, object_store, sealer) -> None:
    object_store.create_bucket("plain-bucket-test", object_lock=False)
    built = build_package(sample_spec(tmp_path / "in"), tmp_path / "out", sealer=sealer)
    with pytest.raises(ObjectLockMissingError):
        store_package(object_store, "plain-bucket-test", built)
    assert object_store.versions("plain-bucket-test", "") == []


def test_package_is_stored_locked_verified_and_only_once(tmp_path, object_store, sealer) -> None:
    bucket = tenant_bucket("dematflow", "213800000")
    prepare_tenant_bucket(object_store, bucket)
    spec = sample_spec(tmp_path / "in")
    built = build_package(spec, tmp_path / "out", sealer=sealer)
    first = store_package(object_store, bucket, built)
    assert not first.already_stored
    assert {o.key for o in first.objects} == {
        package_key(spec.package_id, name) for name in built.files
    }
    assert first.retain_until == lock_end(spec.appraisal.end_date)
    info = object_store.stat(
        bucket, package_key(spec.package_id, "data/documents/deliberation.pdf")
    )
    assert (
        info is not None
        and info.lock_mode == "COMPLIANCE"
        and info.retain_until == first.retain_until
    )
    # The job runs again (even re-building and re-sealing): nothing new is written.
    again = build_package(spec, tmp_path / "out-again", sealer=sealer)
    second = store_package(object_store, bucket, again)
    assert second.already_stored
    assert second.seal_sha512 == first.seal_sha512
    versions = object_store.versions(bucket, package_key(spec.package_id))
    assert len(versions) == len(built.files)


class _MisreadingStore(ObjectStore):
    """The real store, except that one object's read-back sees other bytes (as a store that
    lost or altered them after acknowledging the write would show)."""

    def __init__(self, config: S3Config, misread: str) -> None:
        super().__init__(config)
        self.misread = misread
        self.read_back: list[str] = []

    def read_digest(self, bucket: str, key: str, *, version_id: str | None = None):
        size, sha512 = super().read_digest(bucket, key, version_id=version_id)
        self.read_back.append(key)
        return (size, "0" * 128) if key.endswith(self.misread) else (size, sha512)


def _relecture_threads() -> list[str]:
    import threading

    return [t.name for t in threading.enumerate() if t.name.startswith("dematflow-relecture")]


@pytest.mark.parametrize("which", [0, -1], ids=["first", "last"])
def test_a_failed_read_back_reports_nothing_and_the_seal_is_never_written(
    tmp_path, object_store, locked_bucket, sealer, which
) -> None:
    spec = sample_spec(tmp_path / "in")
    built = build_package(spec, tmp_path / "out", sealer=sealer)
    names = sorted(set(built.files) - {SEAL})
    # The first object's read-back overlaps the next uploads, which must then stop; the last
    # one's may still be running when the uploads end: the seal waits for it.
    misreading = _MisreadingStore(object_store.config, names[which])
    try:
        with pytest.raises(VerificationFailedError):
            store_package(misreading, locked_bucket, built)
    finally:
        misreading.close()
    assert object_store.stat(locked_bucket, package_key(spec.package_id, SEAL)) is None
    assert _relecture_threads() == []
    # The retry keeps what was written (same bytes), writes the rest, the seal last.
    stored = store_package(object_store, locked_bucket, built)
    assert not stored.already_stored
    assert [o.key for o in stored.objects] == [
        package_key(spec.package_id, name) for name in [*names, SEAL]
    ]
    assert len(object_store.versions(locked_bucket, package_key(spec.package_id))) == len(
        built.files
    )


def test_a_refused_upload_midway_leaves_the_package_unsealed(
    tmp_path, object_store, locked_bucket, sealer
) -> None:
    spec = sample_spec(tmp_path / "in")
    built = build_package(spec, tmp_path / "out", sealer=sealer)
    names = sorted(set(built.files) - {SEAL})
    # Bytes changed after the build: the store refuses them against the build's SHA-256.
    victim = built.path / names[len(names) // 2]
    victim.write_bytes(b"x" * built.files[names[len(names) // 2]].size)
    with pytest.raises(StorageError):
        store_package(object_store, locked_bucket, built)
    assert object_store.stat(locked_bucket, package_key(spec.package_id, SEAL)) is None
    assert object_store.stat(locked_bucket, package_key(spec.package_id, names[-1])) is None
    assert _relecture_threads() == []


def test_every_object_is_read_back_and_the_seal_last(
    tmp_path, object_store, locked_bucket, sealer
) -> None:
    built = build_package(sample_spec(tmp_path / "in"), tmp_path / "out", sealer=sealer)
    watching = _MisreadingStore(object_store.config, "/nothing-misread")
    try:
        stored = store_package(watching, locked_bucket, built)
    finally:
        watching.close()
    written = [o.key for o in stored.objects]
    assert sorted(watching.read_back) == sorted(written)
    assert len(written) == len(built.files)
    assert watching.read_back[-1] == written[-1] == package_key(built.package_id, SEAL)


def test_legal_hold_blocks_deletion_after_retention(
    tmp_path, object_store, holds_store, locked_bucket, sealer
) -> None:
    spec = sample_spec(tmp_path / "in", years=0, start=date.today() - timedelta(days=2))
    built = build_package(spec, tmp_path / "out", sealer=sealer)
    stored = store_package(object_store, locked_bucket, built)
    assert set_package_legal_hold(holds_store, locked_bucket, spec.package_id, on=True) == len(
        stored.objects
    )
    target = stored.objects[0]
    assert object_store.stat(locked_bucket, target.key).legal_hold
    with pytest.raises(RetentionActiveError):
        object_store.delete_version(locked_bucket, target.key, target.version_id)
    set_package_legal_hold(holds_store, locked_bucket, spec.package_id, on=False)
    object_store.delete_version(locked_bucket, target.key, target.version_id)


def test_store_down_is_a_retryable_error_never_a_success(tmp_path, sealer) -> None:
    from devstack.process import free_port

    dead = ObjectStore(
        S3Config(
            endpoint=f"127.0.0.1:{free_port()}", access_key="a", secret_key="b", connect_timeout=0.5
        )
    )
    built = build_package(sample_spec(tmp_path / "in"), tmp_path / "out", sealer=sealer)
    try:
        with pytest.raises(StorageUnavailable) as caught:
            store_package(dead, "dematflow-213800000", built)
    finally:
        dead.close()
    assert caught.value.retryable
    assert "réessayez" in str(caught.value)


def test_an_expired_lock_allows_deletion(object_store, locked_bucket) -> None:
    import time

    version = _put_locked(object_store, locked_bucket, datetime.now(UTC) + timedelta(seconds=2))
    with pytest.raises(RetentionActiveError):
        object_store.delete_version(locked_bucket, "probe", version)
    time.sleep(3)
    object_store.delete_version(locked_bucket, "probe", version)
    assert object_store.stat(locked_bucket, "probe") is None


def test_one_bucket_per_tenant_for_hundreds_of_tenants(tmp_path) -> None:
    # Each bucket is a SeaweedFS collection with volumes of its own: with the volume count
    # derived from free disk (free space / 1 GiB), writes failed with « failed to find writable
    # volumes » once a platform (or the test session) had made ~77 buckets.
    from devstack.s3 import start_seaweed

    with start_seaweed(tmp_path / "s3", access_key="app", secret_key="secret-key-1234") as server:
        store = ObjectStore(server.config)
        try:
            for n in range(120):
                bucket = f"tenant-{n:03d}"
                store.create_bucket(bucket)
                data = f"seal {n}".encode()
                store.put(bucket, "probe", io.BytesIO(data), digest_bytes(data), retain_until=None)
            assert store.stat("tenant-119", "probe") is not None
        finally:
            store.close()


def test_a_put_is_signed_with_the_builds_sha256_not_a_second_hash(
    monkeypatch, object_store, locked_bucket
) -> None:
    import minio.api

    hashed: list[int] = []
    original = minio.api.sha256_hash

    def counting(data):
        hashed.append(len(data or b""))
        return original(data)

    monkeypatch.setattr(minio.api, "sha256_hash", counting)
    data = b"%PDF" * (256 * 1024)
    digests = digest_bytes(data)
    version = object_store.put(
        locked_bucket, "signed", io.BytesIO(data), digests, retain_until=None
    )
    assert max(hashed, default=0) < len(data)  # empty or small bodies, never the object
    assert object_store.read_digest(locked_bucket, "signed", version_id=version) == (
        digests.size,
        digests.sha512,
    )
