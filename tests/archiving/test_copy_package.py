"""The second copy of a package (`copy_package`) between two real SeaweedFS servers: uploads
one at a time with the next objects read from the source and the last ones read back beside
them, every object read back and compared, the seal only after all of them matched; a read-back
that does not match, wherever it falls, leaves no receipt and no seal."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from archiving.bag import SEAL, build_package
from archiving.errors import VerificationFailedError
from archiving.storage.s3 import ObjectStore, S3Config
from archiving.store import (
    COPY_WORKERS,
    StoredPackage,
    copy_package,
    package_key,
    prepare_tenant_bucket,
    store_package,
)
from devstack.s3 import start_seaweed
from engine.services.archives.seals import SignaturesSealer
from tests.archiving.conftest import sample_spec

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def second_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObjectStore]:
    """A client of a second SeaweedFS server (another site in production), for this module."""
    key = secrets.token_urlsafe(24)
    with start_seaweed(
        tmp_path_factory.mktemp("site2"), access_key="copie", secret_key=key
    ) as site:
        store = ObjectStore(site.config)
        yield store
        store.close()


def _stored(tmp_path: Path, store: ObjectStore, sealer: SignaturesSealer) -> StoredPackage:
    """A package stored and verified in the primary, in a fresh tenant bucket."""
    package_id = f"copie-{secrets.token_hex(4)}"
    spec = sample_spec(tmp_path / "in", package_id)
    built = build_package(spec, tmp_path / "out", sealer=sealer)
    bucket = f"primaire-{secrets.token_hex(4)}"
    prepare_tenant_bucket(store, bucket)
    return store_package(store, bucket, built)


def _target(store: ObjectStore) -> str:
    bucket = f"secondaire-{secrets.token_hex(4)}"
    prepare_tenant_bucket(store, bucket)
    return bucket


class _WatchedStore(ObjectStore):
    """The real second store, watched: what it is asked in which order and how many calls run
    at once; one object's read-back may see other bytes (as a store that lost or altered them
    after acknowledging the write would show); with `meet` (a read-back, an upload), the two
    wait for each other."""

    def __init__(
        self, config: S3Config, *, misread: str = "", meet: tuple[str, str] | None = None
    ) -> None:
        super().__init__(config)
        self.misread = misread
        self.events: list[tuple[str, str]] = []
        self.running = 0
        self.most_at_once = 0
        self.lock = threading.Lock()
        self.meet = meet
        # Only a read-back running beside the next upload gets past it: a copy that reads each
        # object back before writing the next would wait here until the (generous) timeout
        # breaks the barrier and fails the copy.
        self.meeting = threading.Barrier(2, timeout=60)

    def _enter(self, event: str, key: str) -> None:
        with self.lock:
            self.events.append((event, key))
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)

    def _leave(self, event: str, key: str) -> None:
        with self.lock:
            self.events.append((event, key))
            self.running -= 1

    def put(self, bucket: str, key: str, *args: Any, **kwargs: Any) -> str:
        self._enter("put", key)
        try:
            if self.meet is not None and key == self.meet[1]:
                self.meeting.wait()
            return super().put(bucket, key, *args, **kwargs)
        finally:
            self._leave("put done", key)

    def read_digest(
        self, bucket: str, key: str, *, version_id: str | None = None
    ) -> tuple[int, str]:
        self._enter("read", key)
        try:
            if self.meet is not None and key == self.meet[0]:
                self.meeting.wait()
            size, sha512 = super().read_digest(bucket, key, version_id=version_id)
        finally:
            self._leave("read done", key)
        if self.misread and key.endswith("/" + self.misread):
            return size, "0" * 128
        return size, sha512


def _copy_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("dematflow-copie")]


@pytest.mark.parametrize("which", ["first", "middle", "last"])
def test_a_misread_copy_anywhere_gives_no_receipt_and_no_seal_then_a_retry_completes(
    tmp_path: Path,
    object_store: ObjectStore,
    second_store: ObjectStore,
    sealer: SignaturesSealer,
    which: str,
) -> None:
    stored = _stored(tmp_path, object_store, sealer)
    target = _target(second_store)
    seal_key = package_key(stored.package_id, SEAL)
    keys = [o.key for o in stored.objects if o.key != seal_key]
    victim = {"first": keys[0], "middle": keys[len(keys) // 2], "last": keys[-1]}[which]
    misreading = _WatchedStore(second_store.config, misread=victim.rsplit("/", 1)[1])
    try:
        with pytest.raises(VerificationFailedError):
            copy_package(
                object_store,
                stored.bucket,
                misreading,
                target,
                stored.package_id,
                stored.retain_until,
            )
    finally:
        misreading.close()
    # Nothing says the copy is complete: no receipt (the call raised), no seal in the target,
    # nothing left running.
    assert second_store.stat(target, seal_key) is None
    assert ("put", seal_key) not in misreading.events
    assert _copy_threads() == []
    # The retry keeps what was written with the right bytes and the lock, completes the rest,
    # the seal last; every object of the receipt holds the primary's bytes.
    copied = copy_package(
        object_store, stored.bucket, second_store, target, stored.package_id, stored.retain_until
    )
    assert [o.key for o in copied.objects] == [*keys, seal_key]
    assert [(o.size, o.sha512) for o in copied.objects] == [
        (o.size, o.sha512) for o in stored.objects
    ]
    assert seal_key in copied.written
    assert len(second_store.versions(target, package_key(stored.package_id))) == len(keys) + 1


def test_read_backs_overlap_the_next_uploads_and_the_seal_comes_after_all_of_them(
    tmp_path: Path, object_store: ObjectStore, second_store: ObjectStore, sealer: SignaturesSealer
) -> None:
    stored = _stored(tmp_path, object_store, sealer)
    target = _target(second_store)
    seal_key = package_key(stored.package_id, SEAL)
    keys = [o.key for o in stored.objects]
    watched = _WatchedStore(second_store.config, meet=(keys[0], keys[1]))
    try:
        copied = copy_package(
            object_store, stored.bucket, watched, target, stored.package_id, stored.retain_until
        )
    finally:
        watched.close()
    assert [o.key for o in copied.objects] == keys
    assert sorted(copied.written) == sorted(keys)
    # Each object was written and read back, the seal once every other one had been read back.
    events = watched.events
    reads_done = [i for i, (event, key) in enumerate(events) if event == "read done"]
    assert sorted(key for event, key in events if event == "read done") == sorted(keys)
    seal_put = events.index(("put", seal_key))
    assert seal_put > max(i for i in reads_done if events[i][1] != seal_key)
    # The uploads went one at a time (concurrent PUTs are slow on a versioned, locked bucket).
    uploading = 0
    for event, _key in events:
        uploading += {"put": 1, "put done": -1}.get(event, 0)
        assert uploading <= 1
    # The first read-back met the second upload (the barrier), and never more calls at once
    # than the uploading thread and the copy threads.
    assert 2 <= watched.most_at_once <= COPY_WORKERS + 1
    assert _copy_threads() == []
