"""The archive's set-up: storage, seals and timestamps built from Settings; start-up check."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from archiving import (
    Agency,
    ArchivingError,
    ObjectStore,
    S3Config,
    Sealer,
    SealVerifier,
    StorageUnavailable,
    Timestamper,
    TimestampVerifier,
    prepare_tenant_bucket,
    require_default_retention,
    tenant_bucket,
)
from engine.domain.errors import DematflowError
from engine.persistence.uow import UnitOfWorkFactory
from engine.services.archives.seals import (
    SignaturesSealer,
    SignaturesSealVerifier,
    SignaturesTimestamper,
    SignaturesTimestampVerifier,
    configured_seal_identities,
)
from engine.services.signing_setup import signing_setup
from engine.settings import Settings, StorageSettings
from signatures.errors import SignatureError

ARCHIVAL_AGENCY = Agency("dematflow-archives", "Service d'archives électroniques de l'opérateur")
RECORD_RETENTION_YEARS = 30
"""How long destruction records and journal seals stay under COMPLIANCE lock."""


class ArchiveUnavailable(DematflowError):
    """The archive cannot work now (storage or seal not configured, store unreachable)."""


@dataclass(frozen=True)
class ArchiveSetup:
    """Everything the archive services need, built once per process from Settings."""

    s3: S3Config
    bucket_prefix: str
    sealer: Sealer
    seal_verifier: SealVerifier
    timestamper: Timestamper
    timestamp_verifier: TimestampVerifier
    archival_agency: Agency = ARCHIVAL_AGENCY
    holds_s3: S3Config | None = None
    """The legal-hold identity; None when not configured (holds are then refused)."""
    secondary_s3: S3Config | None = None
    """The second store holding a copy of every package; None: one copy only."""
    secondary_bucket_prefix: str = ""
    """Prefix of the tenant buckets on the second store."""
    secondary_holds_s3: S3Config | None = None
    """The second store's legal-hold identity; None when not configured."""

    def secondary_bucket(self, tenant: str) -> str:
        """The tenant's bucket on the second store (only meaningful with one)."""
        return tenant_bucket(self.secondary_bucket_prefix or self.bucket_prefix, tenant)

    @contextmanager
    def secondary_store(self) -> Iterator[ObjectStore]:
        """The second store under its writing identity; ArchiveUnavailable without one."""
        if self.secondary_s3 is None:
            raise ArchiveUnavailable("aucun stockage secondaire configuré")
        store = ObjectStore(self.secondary_s3)
        try:
            yield store
        finally:
            store.close()

    @contextmanager
    def secondary_holds_store(self) -> Iterator[ObjectStore]:
        """The second store under its legal-hold identity."""
        if self.secondary_s3 is None:
            raise ArchiveUnavailable("aucun stockage secondaire configuré")
        if self.secondary_holds_s3 is None:
            raise ArchiveUnavailable(
                "identité de gel du stockage secondaire non configurée "
                "(DEMATFLOW_STORAGE__SECONDARY__HOLDS__ACCESS_KEY / __SECRET_KEY) : un gel "
                "doit s'appliquer aux deux copies."
            )
        store = ObjectStore(self.secondary_holds_s3)
        try:
            yield store
        finally:
            store.close()

    def bucket(self, tenant: str) -> str:
        return tenant_bucket(self.bucket_prefix, tenant)

    @contextmanager
    def reading_store(self, tenant: str) -> Iterator[tuple[ObjectStore, str]]:
        """A store to read the tenant's archive from, and its bucket: the primary, else the
        second store when the primary cannot be reached (reading never waits for both)."""
        with self.store() as store:
            bucket = self.bucket(tenant)
            if self.secondary_s3 is None:
                yield store, bucket
                return
            try:
                store.require_object_lock(bucket)
            except StorageUnavailable:
                pass
            else:
                yield store, bucket
                return
        with self.secondary_store() as second:
            yield second, self.secondary_bucket(tenant)

    @contextmanager
    def store(self) -> Iterator[ObjectStore]:
        """The store under the application's writing identity."""
        store = ObjectStore(self.s3)
        try:
            yield store
        finally:
            store.close()

    @contextmanager
    def holds_store(self) -> Iterator[ObjectStore]:
        """The store under the legal-hold identity (placing and lifting holds only)."""
        if self.holds_s3 is None:
            raise ArchiveUnavailable(
                "identité de gel non configurée (DEMATFLOW_STORAGE__HOLDS__ACCESS_KEY / "
                "__SECRET_KEY) : le gel ne peut être ni placé ni levé."
            )
        store = ObjectStore(self.holds_s3)
        try:
            yield store
        finally:
            store.close()


def writer_s3_config(storage: StorageSettings, endpoint: str) -> S3Config:
    """The application's writing identity (with the bucket administration identity, if any)."""
    admin = storage.bucket_admin
    return S3Config(
        endpoint=endpoint,
        access_key=storage.access_key,
        secret_key=storage.secret_key,
        secure=storage.secure,
        region=storage.region,
        default_retention_days=storage.default_retention_days or None,
        admin_access_key=admin.access_key if admin.configured else None,
        admin_secret_key=admin.secret_key if admin.configured else None,
    )


def holds_s3_config(storage: StorageSettings, endpoint: str) -> S3Config | None:
    """The legal-hold identity; None when its credentials are not set."""
    if not storage.holds.configured:
        return None
    return S3Config(
        endpoint=endpoint,
        access_key=storage.holds.access_key,
        secret_key=storage.holds.secret_key,
        secure=storage.secure,
        region=storage.region,
    )


def secondary_s3_config(storage: StorageSettings) -> S3Config | None:
    """The second store's writing identity; None when no second store is configured;
    ArchiveUnavailable when its endpoint is set without credentials (never one copy silently)."""
    second = storage.secondary
    if not second.endpoint:
        return None
    if not second.configured:
        raise ArchiveUnavailable(
            "stockage secondaire incomplet : DEMATFLOW_STORAGE__SECONDARY__ACCESS_KEY et "
            "__SECRET_KEY sont requis avec __ENDPOINT"
        )
    admin = second.bucket_admin
    return S3Config(
        endpoint=second.endpoint or "",
        access_key=second.access_key,
        secret_key=second.secret_key,
        secure=second.secure,
        region=second.region,
        default_retention_days=storage.default_retention_days or None,
        admin_access_key=admin.access_key if admin.configured else None,
        admin_secret_key=admin.secret_key if admin.configured else None,
    )


def secondary_holds_s3_config(storage: StorageSettings) -> S3Config | None:
    """The second store's legal-hold identity; None without a second store or its keys."""
    second = storage.secondary
    if not second.endpoint or not second.holds.configured:
        return None
    return S3Config(
        endpoint=second.endpoint,
        access_key=second.holds.access_key,
        secret_key=second.holds.secret_key,
        secure=second.secure,
        region=second.region,
    )


def archive_setup(settings: Settings) -> ArchiveSetup:
    """The archive's storage and seals; :class:`ArchiveUnavailable` when not configured."""
    storage = settings.storage
    if not storage.endpoint:
        raise ArchiveUnavailable("stockage d'archives non configuré")
    try:
        signing = signing_setup(settings)
        identities = configured_seal_identities(settings, seal_key=signing.seal_key)
    except (OSError, ValueError, SignatureError) as exc:
        raise ArchiveUnavailable(f"cachet d'archivage indisponible : {exc}") from exc
    if not signing.timestamp_url:
        raise ArchiveUnavailable("aucune autorité d'horodatage configurée")
    return ArchiveSetup(
        s3=writer_s3_config(storage, storage.endpoint),
        holds_s3=holds_s3_config(storage, storage.endpoint),
        bucket_prefix=storage.bucket_prefix,
        secondary_s3=secondary_s3_config(storage),
        secondary_bucket_prefix=storage.secondary.bucket_prefix,
        secondary_holds_s3=secondary_holds_s3_config(storage),
        sealer=SignaturesSealer(signing.seal_key, signing.timestamp_url, signing.trust_roots),
        seal_verifier=SignaturesSealVerifier(signing.trust_roots, identities),
        timestamper=SignaturesTimestamper(signing.timestamp_url),
        timestamp_verifier=SignaturesTimestampVerifier(signing.trust_roots),
    )


def check_archive_storage(uow_factory: UnitOfWorkFactory, setup: ArchiveSetup) -> dict[str, str]:
    """Start-up check: every tenant bucket exists with Object Lock, versioning and the
    configured default retention.

    Missing buckets are created locked; an existing bucket gets the default retention it
    lacks. A bucket without Object Lock, or whose default retention cannot be set, is reported
    (tenant → French problem); archiving into a bucket without Object Lock is refused by
    `store_package` anyway.
    """
    with uow_factory() as uow:
        tenants = [t.siren for t in uow.tenants.all()]
    problems: dict[str, str] = {}
    with setup.store() as store:
        for tenant in tenants:
            try:
                prepare_tenant_bucket(store, setup.bucket(tenant))
            except ArchivingError as exc:
                problems[tenant] = str(exc)
    return problems


def storage_report(uow_factory: UnitOfWorkFactory, setup: ArchiveSetup) -> list[dict[str, str]]:
    """Each tenant bucket's state, changing nothing: Object Lock and versioning, and the
    default retention (a problem when it is missing or weaker than configured)."""
    with uow_factory() as uow:
        tenants = [t.siren for t in uow.tenants.all()]
    rows: list[dict[str, str]] = []
    with setup.store() as store:
        for tenant in tenants:
            bucket = setup.bucket(tenant)
            row = {"tenant": tenant, "bucket": bucket}
            try:
                store.require_object_lock(bucket)
                found = require_default_retention(store, bucket)
            except ArchivingError as exc:
                row["problem"] = str(exc)
            else:
                row["default_retention"] = (
                    f"{found.mode} {found.days} j" if found else "aucune (non configurée)"
                )
            rows.append(row)
    return rows
