"""Store a sealed package under Object Lock, read back and verified, exactly once."""

from __future__ import annotations

import io
import tempfile
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from typing import BinaryIO, TypeVar

from archiving.bag import SEAL, BuiltPackage
from archiving.digests import FileDigests, digest_bytes, digest_stream
from archiving.errors import (
    ObjectLockMissingError,
    PackageNotFoundError,
    StorageError,
    VerificationFailedError,
)
from archiving.journal_seal import JournalSeal
from archiving.model import check_package_id
from archiving.storage.s3 import DefaultRetention, ObjectInfo, ObjectStore, ObjectVersion

__all__ = [
    "JOURNAL_SEALS_PREFIX",
    "PACKAGES_PREFIX",
    "CopiedPackage",
    "StoredObject",
    "StoredPackage",
    "copy_object",
    "copy_package",
    "journal_seal_key",
    "load_journal_seals",
    "lock_end",
    "lock_holds",
    "package_key",
    "prepare_tenant_bucket",
    "require_default_retention",
    "set_package_legal_hold",
    "store_journal_seal",
    "store_package",
    "tenant_bucket",
]

PACKAGES_PREFIX = "packages/"
COMPLIANCE_MODE = "COMPLIANCE"

_T = TypeVar("_T")


@dataclass(frozen=True)
class StoredObject:
    """One object of a stored package, as verified after writing."""

    key: str
    """Object key."""
    version_id: str
    """Version written (or found, when the package was already stored)."""
    size: int
    """Size in bytes."""
    sha512: str
    """SHA-512 of the bytes read back."""


@dataclass(frozen=True)
class StoredPackage:
    """Receipt of :func:`store_package`: everything the caller should record."""

    bucket: str
    """Tenant bucket."""
    package_id: str
    """Package identifier."""
    objects: tuple[StoredObject, ...]
    """Every object of the package, read back and verified."""
    retain_until: datetime
    """COMPLIANCE retention end of every object."""
    already_stored: bool
    """True when an earlier run had stored the package: nothing new was written."""

    @property
    def seal_sha512(self) -> str:
        """SHA-512 of the stored seal (identifies this package's stored version)."""
        return next(item.sha512 for item in self.objects if item.key.endswith("/" + SEAL))


def tenant_bucket(prefix: str, tenant_id: str) -> str:
    """The bucket of one tenant (e.g. ``dematflow-213800000``)."""
    return ObjectStore.check_bucket_name(f"{prefix}-{tenant_id}".lower())


def package_key(package_id: str, path: str = "") -> str:
    """Key of a bag file of a package (or the package's prefix when ``path`` is empty)."""
    return f"{PACKAGES_PREFIX}{check_package_id(package_id)}/{path}"


RENEWALS_PREFIX = "timestamp-renewals/"
"""Renewed copies of a package's signed PDFs (a new archival timestamp each), stored beside the
package so that the package itself still verifies: ``timestamp-renewals/<package>/<nnnn>-<name>``.
They are part of the package's life: its DIP, its legal holds and its destruction."""


def renewals_prefix(package_id: str) -> str:
    """Prefix of the renewed copies of a package's signed PDFs."""
    return f"{RENEWALS_PREFIX}{check_package_id(package_id)}/"


def renewal_key(package_id: str, source_key: str, sequence: int) -> str:
    """Key of the `sequence`-th renewed copy of the package object `source_key`."""
    name = source_key.rsplit("/", 1)[-1]
    return f"{renewals_prefix(package_id)}{sequence:04d}-{name}"


def package_copies(store: ObjectStore, bucket: str, package_id: str) -> list[ObjectVersion]:
    """Every stored version of a package: its bag files, then its renewed copies."""
    return [
        *store.versions(bucket, package_key(package_id)),
        *store.versions(bucket, renewals_prefix(package_id)),
    ]


def lock_end(last_day: date) -> datetime:
    """Retention end for a DUA whose last protected day is ``last_day`` (midnight after, UTC)."""
    return datetime.combine(last_day + timedelta(days=1), time(0, 0), tzinfo=UTC)


def prepare_tenant_bucket(store: ObjectStore, bucket: str) -> None:
    """Create the tenant bucket with Object Lock and versioning if needed, then require both;
    give it the configured default retention when it lacks it (an existing bucket too)."""
    store.create_bucket(bucket, object_lock=True)
    store.require_object_lock(bucket)
    days = store.config.default_retention_days
    if days and store.default_retention(bucket) != DefaultRetention(COMPLIANCE_MODE, days):
        store.set_default_retention(bucket, days)
    require_default_retention(store, bucket)


def require_default_retention(store: ObjectStore, bucket: str) -> DefaultRetention | None:
    """The bucket's default retention; :class:`ObjectLockMissingError` when the store is
    configured with one and the bucket lacks it (or has a shorter or non-COMPLIANCE one)."""
    days = store.config.default_retention_days
    found = store.default_retention(bucket)
    if days and (found is None or found.mode != COMPLIANCE_MODE or found.days < days):
        have = "aucune" if found is None else f"{found.mode} {found.days} j"
        raise ObjectLockMissingError(
            f"Le compartiment {bucket} n'a pas la rétention par défaut attendue "
            f"(COMPLIANCE {days} j ; trouvée : {have})."
        )
    return found


READBACK_WORKERS = 2
"""Threads reading objects back while the next ones are uploaded (the S3 client and hashlib
release the GIL, so a read-back overlaps the next PUT)."""
READBACKS_AHEAD = 4
"""Read-backs that may be pending before the next upload waits: the writes never run far ahead
of their verification, and a failed read-back stops the uploads within a few objects."""


def _put_file(
    store: ObjectStore, bucket: str, key: str, built: BuiltPackage, name: str, until: datetime
) -> str:
    # A DUA already over needs no lock (and S3 refuses a retention date in the past).
    retain = until if until > datetime.now(UTC) else None
    with (built.path / name).open("rb") as stream:
        return store.put(bucket, key, stream, built.files[name], retain_until=retain)


def _read_back(
    store: ObjectStore, bucket: str, key: str, version: str, digests: FileDigests
) -> StoredObject:
    """Read one written version back (hashed as its bytes arrive) and compare it with the
    digests computed when the bag was built."""
    size, sha512 = store.read_digest(bucket, key, version_id=version or None)
    if (size, sha512) != (digests.size, digests.sha512):
        raise VerificationFailedError(
            f"La relecture de {key} ne correspond pas à ce qui a été écrit : archivage non confirmé."
        )
    return StoredObject(key=key, version_id=version, size=size, sha512=sha512)


def _write_verified(
    store: ObjectStore, bucket: str, key: str, built: BuiltPackage, name: str, until: datetime
) -> StoredObject:
    version = _put_file(store, bucket, key, built, name, until)
    return _read_back(store, bucket, key, version, built.files[name])


@contextmanager
def _read_backs(
    workers: int = READBACK_WORKERS, name: str = "dematflow-relecture"
) -> Iterator[ThreadPoolExecutor]:
    """A small pool for read-backs (or whole copies); on the way out (success or error) nothing
    is left running: those not started are cancelled, the running ones are waited for."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _settle(pending: deque[Future[_T]], *, keep: int) -> None:
    """Raise the error of any finished read-back (or copy); wait until at most ``keep`` are
    pending."""
    while pending and (pending[0].done() or len(pending) > keep):
        pending.popleft().result()


def _existing(
    store: ObjectStore, bucket: str, key: str, digests: FileDigests | None
) -> StoredObject | None:
    found = store.stat(bucket, key)
    if found is None:
        return None
    size, sha512 = store.read_digest(bucket, key, version_id=found.version_id or None)
    if digests is not None and (size, sha512) != (digests.size, digests.sha512):
        raise StorageError(
            f"Un autre contenu est déjà archivé sous {key} : le paquet n'est pas réécrit."
        )
    return StoredObject(key=key, version_id=found.version_id, size=size, sha512=sha512)


def store_package(store: ObjectStore, bucket: str, built: BuiltPackage) -> StoredPackage:
    """Store every file of ``built`` under COMPLIANCE retention until its DUA ends.

    Refuses a bucket without Object Lock. Each object is read back and compared with the
    digests computed when the bag was built before success is reported (the read-backs run
    beside the next uploads; the seal is written once all of them matched). Idempotent: objects
    already stored with the same bytes are kept, and a package whose seal is stored (the
    seal goes last) is reported as already stored, even if this run sealed it anew.
    """
    store.require_object_lock(bucket)
    until = lock_end(built.retain_until)
    seal_key = package_key(built.package_id, SEAL)
    names = sorted(set(built.files) - {SEAL})
    stored_seal = _existing(store, bucket, seal_key, None)
    # Uploads go one at a time, in order; each object's read-back runs beside the next
    # uploads. Every read-back is settled before the seal is written, and the seal is read back
    # before anything is reported stored: a failure anywhere raises, with nothing reported.
    results: list[StoredObject | Future[StoredObject]] = []
    with _read_backs() as pool:
        pending: deque[Future[StoredObject]] = deque()
        for name in names:
            key = package_key(built.package_id, name)
            found = _existing(store, bucket, key, built.files[name])
            if found is not None:
                results.append(found)
                continue
            _settle(pending, keep=READBACKS_AHEAD - 1)
            version = _put_file(store, bucket, key, built, name, until)
            check = pool.submit(_read_back, store, bucket, key, version, built.files[name])
            pending.append(check)
            results.append(check)
        _settle(pending, keep=0)
    objects = [item if isinstance(item, StoredObject) else item.result() for item in results]
    if stored_seal is not None:
        objects.append(stored_seal)
    else:
        objects.append(_write_verified(store, bucket, seal_key, built, SEAL, until))
    return StoredPackage(
        bucket=bucket,
        package_id=built.package_id,
        objects=tuple(objects),
        retain_until=until,
        already_stored=stored_seal is not None,
    )


@dataclass(frozen=True)
class CopiedPackage:
    """Receipt of :func:`copy_package`: the package's objects as now held by the target store."""

    bucket: str
    """Target bucket."""
    package_id: str
    """Package identifier."""
    objects: tuple[StoredObject, ...]
    """Every object of the package in the target store, read back and verified."""
    written: tuple[str, ...]
    """Keys written by this call (a new locked version each); the others were already there,
    identical and locked."""


def lock_holds(info: ObjectInfo, retain_until: datetime, now: datetime | None = None) -> bool:
    """True when ``info`` is under a COMPLIANCE lock lasting at least to ``retain_until`` (or
    when that date is already past: nothing needs a lock then)."""
    if retain_until <= (now or datetime.now(UTC)):
        return True
    return (
        info.lock_mode == COMPLIANCE_MODE
        and info.retain_until is not None
        and info.retain_until >= retain_until
    )


COPY_WORKERS = 2
"""Threads that read the next objects of a package from the source (and HEAD them in the
target) and read back the copies written, while the uploads go one at a time in order:
SeaweedFS serves GETs side by side, but 14 PUTs of 512 KiB into one versioned, locked bucket
took 1.0-1.1 s from 3 threads against 0.32-0.38 s in a row (2026-12-07, load average 9)."""
FETCHES_AHEAD = 3
"""Objects read from the source ahead of the upload (a spool file each, on disk)."""


def _latest_versions(store: ObjectStore, bucket: str, package_id: str) -> dict[str, str]:
    return {
        v.key: v.version_id
        for v in store.versions(bucket, package_key(package_id))
        if v.is_latest and not v.is_delete_marker
    }


def copy_package(
    source: ObjectStore,
    source_bucket: str,
    target: ObjectStore,
    target_bucket: str,
    package_id: str,
    retain_until: datetime,
) -> CopiedPackage:
    """Make ``target`` hold the same package as ``source`` (its latest versions), byte for byte,
    each object under a COMPLIANCE lock until ``retain_until``.

    The second copy at sealing and the audit's repairs both go through here. An object already
    in the target with the same bytes and a lock lasting long enough is kept; any other (absent,
    deleted, altered, unlocked or locked too briefly) gets a new locked version, read back and
    compared. The seal goes last, as in :func:`store_package`. The caller chooses the source:
    one just verified (sealing) or found intact by the audit (repair).
    """
    target.require_object_lock(target_bucket)
    latest = _latest_versions(source, source_bucket, package_id)
    if not latest:
        raise PackageNotFoundError(f"Aucun paquet {package_id} dans {source_bucket}.")
    seal_key = package_key(package_id, SEAL)
    keys = sorted(set(latest) - {seal_key})
    now = datetime.now(UTC)

    def fetch(key: str) -> _Fetched:
        return _fetch(
            source, source_bucket, latest[key], target, target_bucket, key, retain_until, now
        )

    # The uploads go one at a time, in order, as in store_package; beside them, COPY_WORKERS
    # threads read the next FETCHES_AHEAD objects from the source (into spool files, hashed as
    # they arrive, with the target's HEAD) and read back the objects written (at most
    # READBACKS_AHEAD pending). Every read-back is settled before the seal is copied, and the
    # seal is read back before anything is returned: a failure anywhere raises, with no
    # receipt and no new seal.
    results: list[StoredObject | Future[StoredObject]] = []
    written: list[str] = []
    fetches: deque[Future[_Fetched]] = deque()
    try:
        with _read_backs(COPY_WORKERS, "dematflow-copie") as pool:
            ahead = iter(keys)
            fetches.extend(pool.submit(fetch, key) for key in islice(ahead, FETCHES_AHEAD))
            pending: deque[Future[StoredObject]] = deque()
            while fetches:
                _settle(pending, keep=READBACKS_AHEAD - 1)
                fetched = fetches.popleft().result()
                if (key := next(ahead, None)) is not None:
                    fetches.append(pool.submit(fetch, key))
                if fetched.kept is not None:
                    results.append(fetched.kept)
                    continue
                version = _upload(target, target_bucket, fetched, retain_until, now)
                check = pool.submit(
                    _check_copy, target, target_bucket, fetched.key, version, fetched.digests
                )
                pending.append(check)
                results.append(check)
                written.append(fetched.key)
            _settle(pending, keep=0)
    finally:
        _discard(fetches)
    objects = [item if isinstance(item, StoredObject) else item.result() for item in results]
    if seal_key in latest:
        stored_seal, wrote = _complete(target, target_bucket, fetch(seal_key), retain_until, now)
        objects.append(stored_seal)
        if wrote:
            written.append(seal_key)
    return CopiedPackage(target_bucket, package_id, tuple(objects), tuple(written))


@dataclass
class _Fetched:
    """One object read from the source for a copy."""

    key: str
    digests: FileDigests
    """Of the source's bytes."""
    spool: BinaryIO | None
    """The source's bytes, to write (None when the target already holds them)."""
    kept: StoredObject | None
    """The target's identical and locked copy, when it has one."""


def _fetch(
    source: ObjectStore,
    source_bucket: str,
    source_version: str,
    target: ObjectStore,
    target_bucket: str,
    key: str,
    retain_until: datetime | None,
    now: datetime,
) -> _Fetched:
    """Read one object of the source into a spool file (hashed as it arrives); keep the
    target's copy if it has the same bytes under a lock lasting long enough."""
    spool = tempfile.TemporaryFile(prefix="dematflow-copy-")  # noqa: SIM115 (handed to _upload)
    try:
        with source.open(source_bucket, key, version_id=source_version or None) as stream:
            digests = digest_stream(stream, sink=spool)
        found = target.stat(target_bucket, key)
        if found is not None and (retain_until is None or lock_holds(found, retain_until, now)):
            size, sha512 = target.read_digest(
                target_bucket, key, version_id=found.version_id or None
            )
            if (size, sha512) == (digests.size, digests.sha512):
                spool.close()
                kept = StoredObject(key, found.version_id, size, sha512)
                return _Fetched(key, digests, None, kept)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return _Fetched(key, digests, spool, None)


def _upload(
    target: ObjectStore,
    target_bucket: str,
    fetched: _Fetched,
    retain_until: datetime | None,
    now: datetime,
) -> str:
    """Write a fetched object as a new locked version (its spool is closed); the version id."""
    assert fetched.spool is not None
    retain = retain_until if retain_until is not None and retain_until > now else None
    with fetched.spool as spool:
        return target.put(target_bucket, fetched.key, spool, fetched.digests, retain_until=retain)


def _check_copy(
    target: ObjectStore, target_bucket: str, key: str, version: str, digests: FileDigests
) -> StoredObject:
    """Read a written copy back and compare it with the source's digests."""
    size, sha512 = target.read_digest(target_bucket, key, version_id=version or None)
    if (size, sha512) != (digests.size, digests.sha512):
        raise VerificationFailedError(
            f"La relecture de la copie de {key} dans {target_bucket} ne correspond pas : "
            "copie non confirmée."
        )
    return StoredObject(key, version, size, sha512)


def _discard(fetches: deque[Future[_Fetched]]) -> None:
    """Close the spool files of objects read ahead and never written (after a failure)."""
    for future in fetches:
        if not future.cancelled() and future.exception() is None:
            spool = future.result().spool
            if spool is not None:
                spool.close()


def _complete(
    target: ObjectStore,
    target_bucket: str,
    fetched: _Fetched,
    retain_until: datetime | None,
    now: datetime,
) -> tuple[StoredObject, bool]:
    """Finish the copy of a fetched object: the target's copy kept, or a new version written
    and read back; whether it was written."""
    if fetched.kept is not None:
        return fetched.kept, False
    version = _upload(target, target_bucket, fetched, retain_until, now)
    return _check_copy(target, target_bucket, fetched.key, version, fetched.digests), True


def copy_object(
    source: ObjectStore,
    source_bucket: str,
    target: ObjectStore,
    target_bucket: str,
    key: str,
    retain_until: datetime | None,
    *,
    source_version: str = "",
) -> tuple[StoredObject, bool]:
    """Make ``target`` hold one object of ``source`` (``source_version``, else its latest) byte
    for byte under a COMPLIANCE lock until ``retain_until`` (None: the bucket's default lock).

    For the objects beside the packages (renewed copies, journal seals, destruction records):
    kept when already there, identical and locked; else a new locked version, read back and
    compared. Returns the target's object and whether it was written."""
    target.require_object_lock(target_bucket)
    now = datetime.now(UTC)
    fetched = _fetch(
        source, source_bucket, source_version, target, target_bucket, key, retain_until, now
    )
    return _complete(target, target_bucket, fetched, retain_until, now)


def set_package_legal_hold(store: ObjectStore, bucket: str, package_id: str, *, on: bool) -> int:
    """Put (litigation) or lift a legal hold on every version of a package and of its renewed
    copies; returns the count."""
    versions = [v for v in package_copies(store, bucket, package_id) if not v.is_delete_marker]
    if not any(v.key.startswith(PACKAGES_PREFIX) for v in versions):
        raise PackageNotFoundError(f"Aucun paquet {package_id} dans {bucket}.")
    for version in versions:
        store.set_legal_hold(bucket, version.key, version.version_id, on=on)
    return len(versions)


JOURNAL_SEALS_PREFIX = "journal-seals/"


def journal_seal_key(scope: str, number: int) -> str:
    """Key of one journal seal."""
    return f"{JOURNAL_SEALS_PREFIX}{check_package_id(scope)}/{number:010d}.json"


def store_journal_seal(
    store: ObjectStore, bucket: str, seal: JournalSeal, *, retain_until: datetime
) -> StoredObject:
    """Store a journal seal under COMPLIANCE retention, read back; idempotent for the same seal."""
    store.require_object_lock(bucket)
    data = seal.to_json()
    digests = digest_bytes(data)
    key = journal_seal_key(seal.scope, seal.number)
    found = _existing(store, bucket, key, digests)
    if found is not None:
        return found
    version = store.put(
        bucket,
        key,
        io.BytesIO(data),
        digests,
        retain_until=retain_until,
        content_type="application/json",
    )
    size, sha512 = store.read_digest(bucket, key, version_id=version or None)
    if (size, sha512) != (digests.size, digests.sha512):
        raise VerificationFailedError(f"La relecture du sceau de journal {key} a échoué.")
    return StoredObject(key=key, version_id=version, size=size, sha512=sha512)


def load_journal_seals(store: ObjectStore, bucket: str, scope: str) -> list[JournalSeal]:
    """Every stored seal of a journal, in order."""
    prefix = f"{JOURNAL_SEALS_PREFIX}{check_package_id(scope)}/"
    seals = []
    for name in store.child_prefixes(bucket, prefix):
        with store.open(bucket, prefix + name) as stream:
            seals.append(JournalSeal.from_json(stream.read(1024 * 1024)))
    return sorted(seals, key=lambda seal: seal.number)
