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
    Timestamper,
    TimestampVerifier,
    prepare_tenant_bucket,
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
from engine.settings import Settings
from engine.signing import signing_setup
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

    def bucket(self, tenant: str) -> str:
        return tenant_bucket(self.bucket_prefix, tenant)

    @contextmanager
    def store(self) -> Iterator[ObjectStore]:
        store = ObjectStore(self.s3)
        try:
            yield store
        finally:
            store.close()


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
        s3=S3Config(
            endpoint=storage.endpoint,
            access_key=storage.access_key,
            secret_key=storage.secret_key,
            secure=storage.secure,
            region=storage.region,
        ),
        bucket_prefix=storage.bucket_prefix,
        sealer=SignaturesSealer(signing.seal_key, signing.timestamp_url, signing.trust_roots),
        seal_verifier=SignaturesSealVerifier(signing.trust_roots, identities),
        timestamper=SignaturesTimestamper(signing.timestamp_url),
        timestamp_verifier=SignaturesTimestampVerifier(signing.trust_roots),
    )


def check_archive_storage(uow_factory: UnitOfWorkFactory, setup: ArchiveSetup) -> dict[str, str]:
    """Start-up check: every tenant bucket exists with Object Lock and versioning.

    Missing buckets are created locked; a bucket without Object Lock is reported (tenant →
    French problem) and archiving into it is refused by `store_package` anyway.
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
