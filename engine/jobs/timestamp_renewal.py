"""Periodic renewal of the archival timestamps (PAdES-LTA) of archived signed PDFs, beside their packages.

A package stored under COMPLIANCE Object Lock never changes, but the chain of document
timestamps of its signed PDFs must be extended before the last timestamp's TSA certificate
expires. For each archived package, each signed PDF whose latest timestamp (in the package or
in its latest renewed copy) expires within the horizon gets a renewed copy: the validation
data of that timestamp plus a new document timestamp, checked as AdES-LTA, stored as a new
object beside the package (``timestamp-renewals/<package>/...``, so the package itself still
verifies), locked until the package's own retention end, read back, and recorded with its
SHA-256 (table ``timestamp_renewals``, journal entry ``archive.timestamp_renewed``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from archiving import ArchivingError, ObjectStore, prepare_tenant_bucket
from archiving.digests import digest_bytes
from archiving.store import renewal_key
from engine.domain.archives import ARCHIVED, ArchivedPackage, TimestampRenewal
from engine.domain.journal import utc_iso
from engine.jobs.runner import TransactionRunner
from engine.persistence.uow import UnitOfWork, UnitOfWorkFactory
from engine.services.archives.setup import ArchiveSetup, ArchiveUnavailable
from engine.services.signing_setup import signing_setup
from engine.settings import Settings
from signatures import (
    DEFAULT_ALGORITHM_SUNSETS,
    DEFAULT_RENEWAL_HORIZON,
    ArchivalTimestamp,
    DocumentRefusedError,
    RenewalRequest,
    SignatureError,
    ValidationOptions,
    latest_document_timestamp,
    renew_archival_timestamp,
    renewal_due,
    validate_pdf_for_archive,
)

log = logging.getLogger(__name__)

RENEWAL_EVERY_S = 86_400.0
"""Period of the beat job: once a day is plenty for expiries counted in months."""
DEFAULT_HORIZON = DEFAULT_RENEWAL_HORIZON
_MAX_PDF_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class RenewalConfig:
    """The TSA that makes the new timestamps and the trust anchors that check them."""

    timestamp_url: str
    trust_roots: tuple[bytes, ...]
    sunsets: Mapping[str, date] = field(default_factory=lambda: dict(DEFAULT_ALGORITHM_SUNSETS))
    """Algorithm sunsets: a chain resting on an algorithm that reaches its sunset within the
    horizon is renewed (see `signatures.renewal.DEFAULT_ALGORITHM_SUNSETS`)."""


def renewal_config(settings: Settings) -> RenewalConfig:
    """From the settings; :class:`ArchiveUnavailable` when no TSA is configured."""
    try:
        signing = signing_setup(settings)
    except (OSError, ValueError) as exc:
        raise ArchiveUnavailable(f"PKI indisponible : {exc}") from exc
    if not signing.timestamp_url:
        raise ArchiveUnavailable("aucune autorité d'horodatage configurée")
    return RenewalConfig(
        timestamp_url=signing.timestamp_url,
        trust_roots=signing.trust_roots,
        sunsets=settings.pki.algorithm_sunsets or dict(DEFAULT_ALGORITHM_SUNSETS),
    )


@dataclass(frozen=True)
class RenewalRun:
    """What one pass over the archive did."""

    packages: int
    """Archived packages looked at."""
    timestamped_documents: int
    """Signed PDFs carrying a document timestamp (the only ones that can be renewed)."""
    renewed: tuple[TimestampRenewal, ...]
    """Renewed copies stored during this pass."""
    problems: tuple[str, ...]
    """Documents that were due but could not be renewed, each with the reason (French)."""


def _read_checked(store: ObjectStore, bucket: str, key: str, version_id: str) -> bytes:
    with store.open(bucket, key, version_id=version_id or None) as stream:
        data = stream.read(_MAX_PDF_BYTES + 1)
    if len(data) > _MAX_PDF_BYTES:
        raise DocumentRefusedError(f"{key} est trop volumineux pour être renouvelé.")
    return data


@dataclass(frozen=True)
class _Source:
    """The current version of one signed PDF of a package: the package object or a copy."""

    source_key: str
    key: str
    version_id: str
    sha256: str | None
    sha512: str | None
    previous: TimestampRenewal | None

    def read(self, store: ObjectStore, bucket: str) -> bytes:
        data = _read_checked(store, bucket, self.key, self.version_id)
        altered = (self.sha256 is not None and hashlib.sha256(data).hexdigest() != self.sha256) or (
            self.sha512 is not None and hashlib.sha512(data).hexdigest() != self.sha512
        )
        if altered:
            raise DocumentRefusedError(
                f"{self.key} ne correspond plus à l'empreinte enregistrée : non renouvelé."
            )
        return data


def _sources(package: ArchivedPackage, latest: dict[str, TimestampRenewal]) -> list[_Source]:
    sources = []
    for item in package.objects or []:
        key = str(item["key"])
        if not key.lower().endswith(".pdf"):
            continue
        copy = latest.get(key)
        if copy is not None:
            sources.append(_Source(key, copy.object_key, copy.version_id, copy.sha256, None, copy))
        else:
            version = str(item.get("version_id") or "")
            sha512 = str(item["sha512"]) if item.get("sha512") else None
            sources.append(_Source(key, key, version, None, sha512, None))
    return sources


@dataclass
class _Pass:
    """Running totals of one pass (mutable, private)."""

    config: RenewalConfig
    horizon: timedelta
    now: datetime
    documents: int = 0
    renewed: list[TimestampRenewal] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def problem(self, package: ArchivedPackage, source: _Source, reason: str) -> None:
        message = f"{package.package_id} / {source.source_key.rsplit('/', 1)[-1]} : {reason}"
        log.warning("renouvellement d'horodatage : %s", message)
        self.problems.append(message)


def _renewed_pdf(
    data: bytes, source: _Source, run: _Pass
) -> tuple[bytes, ArchivalTimestamp, ArchivalTimestamp] | str | None:
    """The renewed document and (previous, new) timestamps; a French reason; None if not due."""
    request = RenewalRequest(
        timestamp_url=run.config.timestamp_url,
        trust_roots=run.config.trust_roots,
        horizon=run.horizon,
        now=run.now,
        max_bytes=_MAX_PDF_BYTES,
        sunsets=run.config.sunsets,
    )
    try:
        latest = latest_document_timestamp(data, max_bytes=_MAX_PDF_BYTES)
    except DocumentRefusedError:
        return None  # not a B-LTA document (an annex, a B-T act): nothing to renew
    run.documents += 1
    if not renewal_due(latest, request):
        return None
    try:
        renewed = renew_archival_timestamp(data, request)
    except SignatureError as exc:
        return str(exc)
    outcome = renewed.outcome
    if renewed.pdf is None:
        return None
    if source.previous is not None and not outcome.extends_protection:
        return (
            "renouvellement sans effet : le certificat de l'autorité d'horodatage expire le "
            f"{outcome.current.tsa_not_after.date().isoformat()}, comme le précédent"
            + "".join(f", {w}" for w in _still_weak(outcome.current, run))
            + " ; il faut d'abord renouveler ce certificat."
        )
    report = validate_pdf_for_archive(
        renewed.pdf, ValidationOptions(trust_roots=run.config.trust_roots, max_bytes=_MAX_PDF_BYTES)
    )
    if not report.valid:
        return f"la copie renouvelée ne passe pas la validation d'archivage : {report.summary}"
    return renewed.pdf, outcome.previous, outcome.current


def _store_copy(
    store: ObjectStore, bucket: str, key: str, pdf: bytes, package: ArchivedPackage, now: datetime
) -> tuple[str, datetime | None]:
    """Store locked to the package's own retention end, read back; the version written."""
    digests = digest_bytes(pdf)
    until = package.retain_until if package.retain_until and package.retain_until > now else None
    store.require_object_lock(bucket)
    version = store.put(
        bucket, key, io.BytesIO(pdf), digests, retain_until=until, content_type="application/pdf"
    )
    if store.read_digest(bucket, key, version_id=version or None) != (
        digests.size,
        digests.sha512,
    ):
        raise ArchivingError(f"La relecture de {key} ne correspond pas à ce qui a été écrit.")
    return version, until


def _record(
    uow: UnitOfWork, package: ArchivedPackage, renewal: TimestampRenewal, second: str | None = None
) -> None:
    uow.timestamp_renewals.add(renewal)
    payload: dict[str, Any] = {
        "message": "horodatage renouvelé",
        "package": package.package_id,
        "document": renewal.source_key,
        "object_key": renewal.object_key,
        "version_id": renewal.version_id,
        "sha256": renewal.sha256,
        "sequence": renewal.sequence,
        "previous_tsa_not_after": utc_iso(renewal.previous_tsa_not_after),
        "tsa_not_after": utc_iso(renewal.tsa_not_after),
        "retain_until": utc_iso(renewal.retain_until) if renewal.retain_until else None,
    }
    if second:
        payload["secondary_version_id"] = second
    elif second is not None:
        payload["secondary"] = "copie secondaire non faite, l'audit la fera"
    uow.journal.append(
        tenant=package.tenant,
        kind="archive.timestamp_renewed",
        case_id=package.case_id,
        actor="system:archives",
        payload=payload,
        now=renewal.renewed_at,
    )


@dataclass(frozen=True)
class _SecondStore:
    """The second store and the tenant's bucket there (None: one copy only)."""

    store: ObjectStore
    bucket: str


def _second_copy(
    second: _SecondStore | None, package: ArchivedPackage, key: str, pdf: bytes, run: _Pass
) -> str | None:
    """The renewed copy also in the second store, same key and lock, read back: its version;
    "" when that store refused or is unreachable (a problem of the pass: the renewal counts
    once stored in the primary, and the audit makes the missing copy from it, journaled)."""
    if second is None:
        return None
    try:
        prepare_tenant_bucket(second.store, second.bucket)
        version, _until = _store_copy(second.store, second.bucket, key, pdf, package, run.now)
    except ArchivingError as exc:
        message = f"{package.package_id} / {key.rsplit('/', 1)[-1]} : copie secondaire non faite"
        log.warning("renouvellement d'horodatage : %s (%s)", message, exc)
        run.problems.append(f"{message}, l'audit la fera depuis la copie primaire : {exc}")
        return ""
    return version


def _renew_document(
    runner: TransactionRunner,
    store: ObjectStore,
    package: ArchivedPackage,
    source: _Source,
    run: _Pass,
    second_store: _SecondStore | None = None,
) -> None:
    bucket = str(package.bucket)
    try:
        result = _renewed_pdf(source.read(store, bucket), source, run)
    except DocumentRefusedError as exc:
        run.problem(package, source, str(exc))
        return
    if result is None:
        return
    if isinstance(result, str):
        run.problem(package, source, result)
        return
    pdf, previous, current = result
    sequence = source.previous.sequence + 1 if source.previous is not None else 1
    key = renewal_key(package.package_id, source.source_key, sequence)
    version, until = _store_copy(store, bucket, key, pdf, package, run.now)
    second = _second_copy(second_store, package, key, pdf, run)
    renewal = TimestampRenewal(
        id=uuid.uuid4(),
        tenant=package.tenant,
        package_id=package.package_id,
        source_key=source.source_key,
        sequence=sequence,
        object_key=key,
        version_id=version,
        size=len(pdf),
        sha256=hashlib.sha256(pdf).hexdigest(),
        timestamp_at=current.time,
        tsa_not_after=current.tsa_not_after,
        previous_tsa_not_after=previous.tsa_not_after,
        retain_until=until,
        renewed_at=run.now,
    )
    runner.write(_record, package, renewal, second)
    run.renewed.append(renewal)
    weak = _still_weak(current, run)
    if weak:
        run.problem(
            package,
            source,
            "copie renouvelée, mais le nouvel horodatage repose encore sur "
            + ", ".join(weak)
            + " : il faut un horodateur aux algorithmes plus robustes.",
        )


def _still_weak(latest: ArchivalTimestamp, run: _Pass) -> tuple[str, ...]:
    """The algorithms of `latest` that reach their sunset within the pass's horizon."""
    return latest.weakened(run.config.sunsets, (run.now + run.horizon).date())


def renew_package_timestamps(
    uow_factory: UnitOfWorkFactory,
    setup: ArchiveSetup,
    config: RenewalConfig,
    package: ArchivedPackage,
    *,
    horizon: timedelta = DEFAULT_HORIZON,
    now: datetime,
) -> RenewalRun:
    """Renew, when due, the archival timestamp of each signed PDF of one archived package."""
    return _renew(uow_factory, setup, config, [package], horizon=horizon, now=now)


def _renew(
    uow_factory: UnitOfWorkFactory,
    setup: ArchiveSetup,
    config: RenewalConfig,
    packages: list[ArchivedPackage],
    *,
    horizon: timedelta,
    now: datetime,
) -> RenewalRun:
    run = _Pass(config=config, horizon=horizon, now=now)
    runner = TransactionRunner(uow_factory)
    with contextlib.ExitStack() as stack:
        store = stack.enter_context(setup.store())
        second = stack.enter_context(setup.secondary_store()) if setup.secondary_s3 else None
        for package in packages:
            if package.state != ARCHIVED or not package.bucket:
                continue
            target = (
                _SecondStore(second, setup.secondary_bucket(package.tenant)) if second else None
            )
            latest = runner.read(_latest_renewals, package)
            for source in _sources(package, latest):
                _renew_document(runner, store, package, source, run, target)
    return RenewalRun(
        packages=len(packages),
        timestamped_documents=run.documents,
        renewed=tuple(run.renewed),
        problems=tuple(run.problems),
    )


def _latest_renewals(uow: UnitOfWork, package: ArchivedPackage) -> dict[str, TimestampRenewal]:
    return uow.timestamp_renewals.latest_by_document(package.tenant, package.package_id)


def _archived_packages(uow: UnitOfWork, tenant: str | None) -> list[ArchivedPackage]:
    tenants = [tenant] if tenant else uow.archives.tenants_with_packages()
    return [p for t in tenants for p in uow.archives.packages_in_states(t, [ARCHIVED])]


def renew_due_timestamps(
    uow_factory: UnitOfWorkFactory,
    setup: ArchiveSetup,
    config: RenewalConfig,
    *,
    tenant: str | None = None,
    horizon: timedelta = DEFAULT_HORIZON,
    now: datetime,
) -> RenewalRun:
    """The beat job (and the CLI): one pass over the archived packages of one or all tenants.

    A document that cannot be renewed now (TSA down, invalid document) is listed in
    ``problems`` and tried again on the next pass; a storage outage stops the pass
    (:class:`ArchivingError`) and the next pass starts again from the recorded copies.
    """
    packages = TransactionRunner(uow_factory).read(_archived_packages, tenant)
    return _renew(uow_factory, setup, config, packages, horizon=horizon, now=now)
