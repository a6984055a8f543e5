"""The S3 object store (minio SDK), with its errors translated into the archiving family."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO, ParamSpec, TypeVar, cast

from archiving.digests import CHUNK_SIZE, FileDigests
from archiving.errors import (
    ObjectLockMissingError,
    RetentionActiveError,
    StorageError,
    StorageUnavailable,
)

__all__ = ["DefaultRetention", "ObjectInfo", "ObjectStore", "ObjectVersion", "S3Config"]

P = ParamSpec("P")
R = TypeVar("R")
_TRANSIENT = {
    "SlowDown",
    "ServiceUnavailable",
    "InternalError",
    "RequestTimeout",
    "XMinioServerNotInitialized",
}
_SHA512_META = "x-amz-meta-sha512"
_CONTENT_SHA256 = "x-amz-content-sha256"
_MAX_PART = 512 * 1024 * 1024
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class S3Config:
    """How to reach the S3 endpoint."""

    endpoint: str
    """``host:port`` of the S3 API."""
    access_key: str
    """Access key id."""
    secret_key: str
    """Secret key."""
    secure: bool = False
    """Use HTTPS."""
    region: str = "us-east-1"
    """Region name sent in signatures."""
    connect_timeout: float = 3.0
    """Seconds to wait for a TCP connection before the store counts as unavailable."""
    read_timeout: float = 120.0
    """Seconds to wait for data on an open connection."""
    default_retention_days: int | None = None
    """Default COMPLIANCE retention (days) given to the buckets this store prepares: every
    object written without a retention of its own is locked that long. None: no default."""
    admin_access_key: str | None = None
    """Identity that creates buckets and sets their Object Lock configuration, when the
    writing identity may not (SeaweedFS gates bucket creation on its Admin action; MinIO's
    writer policy allows it, so production leaves this empty)."""
    admin_secret_key: str | None = None
    """Its secret key."""

    def __repr__(self) -> str:
        return (
            f"S3Config(endpoint={self.endpoint!r}, access_key={self.access_key!r}, "
            "secret_key=<hidden>)"
        )


@dataclass(frozen=True)
class DefaultRetention:
    """A bucket's default Object Lock retention rule."""

    mode: str
    """``COMPLIANCE`` or ``GOVERNANCE``."""
    days: int
    """Period in days (a rule in years is converted at 365 days a year)."""


@dataclass(frozen=True)
class ObjectVersion:
    """One version (or delete marker) of an object."""

    key: str
    """Object key."""
    version_id: str
    """Version identifier."""
    is_latest: bool
    """True for the version a plain GET returns."""
    is_delete_marker: bool
    """True when this version is a delete marker."""
    size: int
    """Size in bytes (0 for delete markers)."""


@dataclass(frozen=True)
class ObjectInfo:
    """What a HEAD tells about an object's latest version."""

    key: str
    """Object key."""
    version_id: str
    """Version identifier."""
    size: int
    """Size in bytes."""
    sha512: str | None
    """SHA-512 recorded in the object's metadata when it was written."""
    lock_mode: str | None
    """Object Lock retention mode (``COMPLIANCE``) or None."""
    retain_until: datetime | None
    """End of the retention period, or None."""
    legal_hold: bool
    """True when a legal hold is on."""


def _translate(func: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        # The SDK is imported by the first store call, not by whoever imports archiving.
        import urllib3
        from minio.error import MinioException, S3Error, ServerError

        try:
            return func(*args, **kwargs)
        except S3Error as exc:
            if exc.code in _TRANSIENT:
                raise StorageUnavailable(
                    f"Stockage indisponible ({exc.code}), réessayez plus tard."
                ) from exc
            raise StorageError(
                f"Le stockage a refusé l'opération : {exc.code} ({exc.message})."
            ) from exc
        except (ServerError, urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageUnavailable(
                f"Stockage objet injoignable ou en erreur, réessayez plus tard : {exc}"
            ) from exc
        except MinioException as exc:
            raise StorageError(f"Réponse inattendue du stockage objet : {exc}") from exc

    return wrapper


@functools.cache
def _client_class() -> type[Any]:
    """The SDK's client, signing a single-part PUT with the SHA-256 its caller already computed
    (the one the bag's build took as it copied the bytes) instead of hashing the body a second
    time. Every other request, and every request over HTTPS (where the SDK signs
    ``UNSIGNED-PAYLOAD``), is built as the SDK does."""
    from minio import Minio

    class _Client(Minio):
        def _build_headers(
            self,
            host: str,
            headers: dict[str, Any] | None = None,
            body: bytes | None = None,
            creds: Any = None,
        ) -> tuple[dict[str, Any], datetime]:
            known = (headers or {}).get(_CONTENT_SHA256)
            if not known or not body or creds is None or self._base_url.is_https:
                return cast(
                    tuple[dict[str, Any], datetime],
                    super()._build_headers(host, headers, body, creds),
                )
            built, when = super()._build_headers(host, headers, None, creds)
            built["Content-Length"] = str(len(body))
            built[_CONTENT_SHA256] = known
            return built, when

    return _Client


class ObjectStore:
    """Plain S3 calls used by archiving (nothing MinIO-specific: SeaweedFS answers them too)."""

    def __init__(self, config: S3Config) -> None:
        import urllib3

        client_class = _client_class()
        self.config = config
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=config.connect_timeout, read=config.read_timeout),
            maxsize=10,
            retries=urllib3.Retry(
                total=2, connect=1, backoff_factor=0.1, status_forcelist=[500, 502, 503, 504]
            ),
        )
        self._client = client_class(
            config.endpoint,
            access_key=config.access_key,
            secret_key=config.secret_key,
            secure=config.secure,
            region=config.region,
            http_client=http,
        )
        self._admin = self._client
        if config.admin_access_key:
            self._admin = client_class(
                config.endpoint,
                access_key=config.admin_access_key,
                secret_key=config.admin_secret_key or "",
                secure=config.secure,
                region=config.region,
                http_client=http,
            )

    def close(self) -> None:
        """Release pooled connections."""
        self._client._http.clear()

    @staticmethod
    def check_bucket_name(bucket: str) -> str:
        """Return ``bucket`` when it is a valid S3 bucket name, else raise."""
        if not _BUCKET.match(bucket):
            raise StorageError(f"Nom de compartiment refusé : {bucket!r}.")
        return bucket

    @_translate
    def create_bucket(self, bucket: str, *, object_lock: bool = True) -> bool:
        """Create ``bucket`` (versioned + Object Lock by default); False when it already existed."""
        from minio.commonconfig import COMPLIANCE
        from minio.objectlockconfig import DAYS, ObjectLockConfig

        self.check_bucket_name(bucket)
        if self._client.bucket_exists(bucket):
            return False
        self._admin.make_bucket(bucket, object_lock=object_lock)
        if object_lock and self.config.default_retention_days:
            self._admin.set_object_lock_config(
                bucket, ObjectLockConfig(COMPLIANCE, self.config.default_retention_days, DAYS)
            )
        return True

    @_translate
    def default_retention(self, bucket: str) -> DefaultRetention | None:
        """The bucket's default retention rule; None without one (or without Object Lock)."""
        from minio.error import S3Error
        from minio.objectlockconfig import DAYS

        try:
            found = self._client.get_object_lock_config(bucket)
        except S3Error as exc:
            if exc.code in _TRANSIENT:
                raise
            return None
        if found.mode is None or found.duration is None:
            return None
        days = found.duration * (365 if found.duration_unit != DAYS else 1)
        return DefaultRetention(mode=str(found.mode), days=days)

    @_translate
    def set_default_retention(self, bucket: str, days: int) -> None:
        """Give ``bucket`` a default COMPLIANCE retention of ``days`` days."""
        from minio.commonconfig import COMPLIANCE
        from minio.objectlockconfig import DAYS, ObjectLockConfig

        self._admin.set_object_lock_config(bucket, ObjectLockConfig(COMPLIANCE, days, DAYS))

    @_translate
    def require_object_lock(self, bucket: str) -> None:
        """Raise :class:`ObjectLockMissingError` unless ``bucket`` has Object Lock and versioning."""
        from minio.error import S3Error

        try:
            self._client.get_object_lock_config(bucket)
        except S3Error as exc:
            if exc.code in _TRANSIENT:
                raise
            raise ObjectLockMissingError(
                f"Le compartiment {bucket} n'a pas le verrouillage d'objets (Object Lock) : "
                "archivage refusé."
            ) from exc
        if self._client.get_bucket_versioning(bucket).status != "Enabled":
            raise ObjectLockMissingError(
                f"Le compartiment {bucket} n'est pas versionné : archivage refusé."
            )

    @_translate
    def put(
        self,
        bucket: str,
        key: str,
        stream: BinaryIO,
        digests: FileDigests,
        *,
        retain_until: datetime | None,
        legal_hold: bool = False,
        content_type: str = "application/octet-stream",
    ) -> str:
        """Upload with the SHA-256 checksum the server verifies; returns the new version id.

        ``digests`` are trusted to describe ``stream``: the request is signed with their
        SHA-256 rather than a second hash of the bytes (a store that checks the signed payload
        hash, and every store through the checksum, refuses bytes that differ)."""
        from minio.commonconfig import COMPLIANCE
        from minio.retention import Retention

        retention = Retention(COMPLIANCE, retain_until) if retain_until is not None else None
        part_size = max(5 * 1024 * 1024, min(digests.size, _MAX_PART))
        metadata = {"x-amz-checksum-sha256": digests.sha256_base64, _SHA512_META: digests.sha512}
        if digests.size <= part_size:  # one request: its payload is the whole object
            metadata[_CONTENT_SHA256] = digests.sha256
        result = self._client.put_object(
            bucket,
            key,
            stream,
            digests.size,
            content_type=content_type,
            metadata=metadata,
            retention=retention,
            legal_hold=legal_hold,
            part_size=part_size,
            num_parallel_uploads=1,
        )
        return str(result.version_id or "")

    @contextmanager
    def open(self, bucket: str, key: str, *, version_id: str | None = None) -> Iterator[BinaryIO]:
        """A stream over an object's bytes (a version, or the latest)."""
        response = _translate(self._client.get_object)(bucket, key, version_id=version_id)
        try:
            yield cast(BinaryIO, _Reader(response))
        finally:
            response.close()
            response.release_conn()

    def read_digest(
        self, bucket: str, key: str, *, version_id: str | None = None
    ) -> tuple[int, str]:
        """Read an object back and return its size and SHA-512."""
        digest = hashlib.sha512()
        size = 0
        with self.open(bucket, key, version_id=version_id) as stream:
            while chunk := stream.read(CHUNK_SIZE):
                digest.update(chunk)
                size += len(chunk)
        return size, digest.hexdigest()

    @_translate
    def stat(self, bucket: str, key: str, *, version_id: str | None = None) -> ObjectInfo | None:
        """The latest version's size, recorded SHA-512 and lock state; None when absent."""
        from minio.error import S3Error

        try:
            found = self._client.stat_object(bucket, key, version_id=version_id)
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchVersion", "ResourceNotFound") or (
                exc.response is not None and exc.response.status == 404
            ):
                return None
            raise
        headers = {name.lower(): value for name, value in (found.metadata or {}).items()}
        until = headers.get("x-amz-object-lock-retain-until-date")
        return ObjectInfo(
            key=key,
            version_id=str(found.version_id or ""),
            size=int(found.size or 0),
            sha512=headers.get(_SHA512_META),
            lock_mode=headers.get("x-amz-object-lock-mode"),
            retain_until=datetime.fromisoformat(until.replace("Z", "+00:00")) if until else None,
            legal_hold=headers.get("x-amz-object-lock-legal-hold", "OFF").upper() == "ON",
        )

    @_translate
    def versions(self, bucket: str, prefix: str) -> list[ObjectVersion]:
        """Every version and delete marker under ``prefix``."""
        found = self._client.list_objects(
            bucket, prefix=prefix, recursive=True, include_version=True
        )
        return [
            ObjectVersion(
                key=str(item.object_name),
                version_id=str(item.version_id or ""),
                is_latest=bool(item.is_latest) and str(item.is_latest).lower() != "false",
                is_delete_marker=bool(item.is_delete_marker),
                size=int(item.size or 0),
            )
            for item in found
        ]

    @_translate
    def child_prefixes(self, bucket: str, prefix: str) -> list[str]:
        """Names directly under ``prefix`` (like folders), sorted."""
        found = self._client.list_objects(bucket, prefix=prefix, recursive=False)
        return sorted(str(item.object_name)[len(prefix) :].rstrip("/") for item in found)

    @_translate
    def set_legal_hold(self, bucket: str, key: str, version_id: str, *, on: bool) -> None:
        """Put or lift a legal hold on one version."""
        if on:
            self._client.enable_object_legal_hold(bucket, key, version_id=version_id)
        else:
            self._client.disable_object_legal_hold(bucket, key, version_id=version_id)

    @_translate
    def set_retention(
        self, bucket: str, key: str, version_id: str, *, retain_until: datetime
    ) -> None:
        """Set a COMPLIANCE retention (the store refuses to shorten an existing one)."""
        from minio.commonconfig import COMPLIANCE
        from minio.retention import Retention

        self._client.set_object_retention(
            bucket, key, Retention(COMPLIANCE, retain_until), version_id=version_id
        )

    def delete_version(self, bucket: str, key: str, version_id: str) -> None:
        """Delete one version for good; :class:`RetentionActiveError` while it is locked."""
        from minio.error import S3Error

        try:
            _translate(self._client.remove_object)(bucket, key, version_id=version_id)
        except StorageError as exc:
            cause = exc.__cause__
            if isinstance(cause, S3Error) and cause.code == "AccessDenied":
                raise RetentionActiveError(
                    f"Suppression refusée par le stockage : {key} est encore protégé."
                ) from exc
            raise


class _Reader:
    """A file-like view over a urllib3 response (read only)."""

    def __init__(self, response: Any) -> None:
        self._response = response

    def read(self, size: int = -1) -> bytes:
        import urllib3

        try:
            data: bytes = self._response.read(None if size < 0 else size)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageUnavailable(
                f"Lecture interrompue depuis le stockage objet : {exc}"
            ) from exc
        return data


def utc_now() -> datetime:
    """Current time, UTC (retention dates are compared with the store's clock)."""
    return datetime.now(UTC)
