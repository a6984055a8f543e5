"""Storage rights on the test SeaweedFS (issue 14): the default retention of tenant buckets,
and the writing identity refused what only the legal-hold identity may do."""

from __future__ import annotations

import dataclasses
import io
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from archiving.digests import digest_bytes
from archiving.errors import ObjectLockMissingError, RetentionActiveError, StorageError
from archiving.storage.s3 import DefaultRetention, ObjectStore
from archiving.store import prepare_tenant_bucket, require_default_retention
from devstack.s3 import SeaweedServer

pytestmark = pytest.mark.integration
DATA = b"archived bytes"


@pytest.fixture
def retaining_store(s3_server: SeaweedServer) -> Iterator[ObjectStore]:
    """The writer, configured with a one-day default retention."""
    store = ObjectStore(dataclasses.replace(s3_server.config, default_retention_days=1))
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def writer_only(s3_server: SeaweedServer) -> Iterator[ObjectStore]:
    """The writing identity alone (without the bucket administrator the dev server needs)."""
    config = dataclasses.replace(s3_server.config, admin_access_key=None, admin_secret_key=None)
    store = ObjectStore(config)
    try:
        yield store
    finally:
        store.close()


def _put(store: ObjectStore, bucket: str, key: str, until: datetime | None) -> str:
    return store.put(bucket, key, io.BytesIO(DATA), digest_bytes(DATA), retain_until=until)


def _held(store: ObjectStore, bucket: str, version: str) -> bool:
    info = store.stat(bucket, "locked", version_id=version)
    assert info is not None
    return info.legal_hold


def test_a_tenant_bucket_gets_the_default_retention_and_objects_inherit_it(
    retaining_store: ObjectStore,
) -> None:
    bucket = f"tenant-{secrets.token_hex(6)}"
    prepare_tenant_bucket(retaining_store, bucket)
    assert retaining_store.default_retention(bucket) == DefaultRetention("COMPLIANCE", 1)
    before = datetime.now(UTC)
    version = _put(retaining_store, bucket, "no-explicit-retention", None)
    info = retaining_store.stat(bucket, "no-explicit-retention", version_id=version)
    assert info is not None and info.lock_mode == "COMPLIANCE" and info.retain_until
    assert before + timedelta(hours=23) < info.retain_until < before + timedelta(days=1, hours=1)
    with pytest.raises(RetentionActiveError):
        retaining_store.delete_version(bucket, "no-explicit-retention", version)


def test_an_existing_bucket_without_default_retention_is_reported_then_given_it(
    object_store: ObjectStore, retaining_store: ObjectStore, locked_bucket: str
) -> None:
    assert object_store.default_retention(locked_bucket) is None
    with pytest.raises(ObjectLockMissingError, match="rétention par défaut"):
        require_default_retention(retaining_store, locked_bucket)
    prepare_tenant_bucket(retaining_store, locked_bucket)  # the start-up / setup check
    assert require_default_retention(retaining_store, locked_bucket) == DefaultRetention(
        "COMPLIANCE", 1
    )


def test_the_writer_cannot_touch_holds_locks_or_the_default_retention(
    writer_only: ObjectStore, holds_store: ObjectStore, retaining_store: ObjectStore
) -> None:
    bucket = f"tenant-{secrets.token_hex(6)}"
    prepare_tenant_bucket(retaining_store, bucket)
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    version = _put(writer_only, bucket, "locked", until)
    with pytest.raises(StorageError, match="AccessDenied"):  # place a hold
        writer_only.set_legal_hold(bucket, "locked", version, on=True)
    holds_store.set_legal_hold(bucket, "locked", version, on=True)
    with pytest.raises(StorageError, match="AccessDenied"):  # lift the archivist's hold
        writer_only.set_legal_hold(bucket, "locked", version, on=False)
    assert _held(writer_only, bucket, version)
    with pytest.raises(RetentionActiveError):  # delete the locked version
        writer_only.delete_version(bucket, "locked", version)
    with pytest.raises(StorageError):  # shorten the lock
        writer_only.set_retention(bucket, "locked", version, retain_until=until - timedelta(days=1))
    with pytest.raises(StorageError, match="AccessDenied"):  # drop the bucket's default
        writer_only.set_default_retention(bucket, 1)
    with pytest.raises(StorageError, match="AccessDenied"):  # write with a hold on
        writer_only.put(
            bucket, "held", io.BytesIO(DATA), digest_bytes(DATA), retain_until=None, legal_hold=True
        )
    info = writer_only.stat(bucket, "locked", version_id=version)
    assert info is not None and info.retain_until == until and info.lock_mode == "COMPLIANCE"
    # The legal-hold identity lifts its hold, and can do nothing else.
    holds_store.set_legal_hold(bucket, "locked", version, on=False)
    assert not _held(writer_only, bucket, version)
    with pytest.raises(StorageError, match="AccessDenied"):
        _put(holds_store, bucket, "by-holds", None)
    with pytest.raises(RetentionActiveError):
        holds_store.delete_version(bucket, "locked", version)
    with pytest.raises(StorageError):
        holds_store.set_retention(bucket, "locked", version, retain_until=until - timedelta(days=1))
