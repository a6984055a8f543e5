"""Fixity audit: re-read stored packages, recompute digests, check seals and versions.

Runs in batches; the caller keeps the returned cursor and passes it to the next call. Every
problem is a finding of the report, including tampering done directly in the object store
(an overwritten object is a new version, or altered bytes behind S3's back).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import BinaryIO

from archiving.errors import JournalSealError
from archiving.journal_seal import verify_seal_chain
from archiving.seals import SealVerifier, TimestampVerifier
from archiving.storage.s3 import ObjectStore, ObjectVersion
from archiving.store import PACKAGES_PREFIX, load_journal_seals, package_key
from archiving.verify import Finding, FindingKind, verify_package

__all__ = ["AuditReport", "StoredPackageReader", "audit_journal_seals", "audit_packages"]


class StoredPackageReader:
    """A package in the object store, read through its latest versions."""

    def __init__(
        self, store: ObjectStore, bucket: str, package_id: str, versions: Sequence[ObjectVersion]
    ) -> None:
        self.store = store
        self.bucket = bucket
        self.prefix = package_key(package_id)
        self._latest = {
            v.key[len(self.prefix) :]: v.version_id
            for v in versions
            if v.is_latest and not v.is_delete_marker
        }

    def names(self) -> list[str]:
        return sorted(self._latest)

    @contextmanager
    def open(self, name: str) -> Iterator[BinaryIO]:
        with self.store.open(
            self.bucket, self.prefix + name, version_id=self._latest[name] or None
        ) as stream:
            yield stream


@dataclass(frozen=True)
class AuditReport:
    """Result of one audit batch."""

    findings: tuple[Finding, ...]
    """Every problem found in this batch (each names its package)."""
    packages_checked: tuple[str, ...]
    """Packages audited in this batch."""
    objects_checked: int
    """Objects re-read and hashed."""
    bytes_read: int
    """Bytes re-read."""
    next_cursor: str | None
    """Pass this to the next call; None when the last package has been audited."""

    @property
    def intact(self) -> bool:
        """True when this batch found nothing wrong."""
        return not self.findings


def _version_findings(package_id: str, versions: Sequence[ObjectVersion]) -> list[Finding]:
    by_key: dict[str, list[ObjectVersion]] = defaultdict(list)
    for version in versions:
        by_key[version.key].append(version)
    findings = []
    for key, found in sorted(by_key.items()):
        path = key[len(package_key(package_id)) :]
        markers = [v for v in found if v.is_delete_marker]
        if len(found) > 1 or markers:
            what = "marqueur de suppression" if markers else "version supplémentaire"
            findings.append(
                Finding(
                    kind=FindingKind.EXTRA_VERSION,
                    path=path,
                    message=f"{len(found)} versions pour un objet écrit une seule fois ({what}).",
                    package_id=package_id,
                )
            )
    return findings


def _audit_one(
    store: ObjectStore, bucket: str, package_id: str, seal_verifier: SealVerifier
) -> tuple[list[Finding], int, int]:
    versions = store.versions(bucket, package_key(package_id))
    if not versions:
        missing = Finding(
            FindingKind.MISSING, "", "Paquet attendu introuvable dans le stockage.", package_id
        )
        return [missing], 0, 0
    report = verify_package(
        StoredPackageReader(store, bucket, package_id, versions), seal_verifier=seal_verifier
    )
    findings = [replace(f, package_id=package_id) for f in report.findings]
    if report.package_id and report.package_id != package_id:
        findings.append(
            Finding(
                FindingKind.ALTERED,
                "bag-info.txt",
                "Le paquet stocké porte un autre identifiant.",
                package_id,
            )
        )
    return (
        _version_findings(package_id, versions) + findings,
        report.files_checked,
        report.bytes_read,
    )


def audit_packages(
    store: ObjectStore,
    bucket: str,
    *,
    seal_verifier: SealVerifier,
    cursor: str | None = None,
    batch_size: int = 50,
    expected: Collection[str] = (),
) -> AuditReport:
    """Audit the next ``batch_size`` packages after ``cursor`` (stored or ``expected``)."""
    stored = store.child_prefixes(bucket, PACKAGES_PREFIX)
    candidates = sorted(set(stored) | set(expected))
    batch = [p for p in candidates if cursor is None or p > cursor][:batch_size]
    findings: list[Finding] = []
    objects = size = 0
    for package_id in batch:
        found, checked, read = _audit_one(store, bucket, package_id, seal_verifier)
        findings += found
        objects += checked
        size += read
    done = not batch or batch[-1] == candidates[-1]
    return AuditReport(
        findings=tuple(findings),
        packages_checked=tuple(batch),
        objects_checked=objects,
        bytes_read=size,
        next_cursor=None if done else batch[-1],
    )


def audit_journal_seals(
    store: ObjectStore, bucket: str, scope: str, *, timestamp_verifier: TimestampVerifier
) -> tuple[Finding, ...]:
    """Check the stored chain of journal seals of ``scope`` (tokens, numbering, back-links)."""
    try:
        seals = load_journal_seals(store, bucket, scope)
    except JournalSealError as exc:
        return (Finding(FindingKind.BROKEN_SEAL, f"journal-seals/{scope}/", str(exc)),)
    problems = verify_seal_chain(seals, timestamp_verifier=timestamp_verifier)
    return tuple(Finding(FindingKind.BROKEN_SEAL, f"journal-seals/{scope}/", p) for p in problems)
