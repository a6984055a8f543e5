"""Fixity audit: re-read stored packages, recompute digests, check seals and versions.

Runs in batches; the caller keeps the returned cursor and passes it to the next call. Every
problem is a finding of the report, including tampering done directly in the object store
(an overwritten object is a new version, or altered bytes behind S3's back).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import BinaryIO

from archiving.errors import ArchivingError, JournalSealError, StorageUnavailable
from archiving.journal_seal import verify_seal_chain
from archiving.seals import SealVerifier, TimestampVerifier
from archiving.storage.s3 import ObjectStore, ObjectVersion
from archiving.store import (
    PACKAGES_PREFIX,
    CopiedPackage,
    StoredObject,
    copy_object,
    copy_package,
    load_journal_seals,
    lock_holds,
    package_key,
)
from archiving.verify import Finding, FindingKind, verify_package

__all__ = [
    "PRIMARY",
    "SECONDARY",
    "AuditReport",
    "CopyRepair",
    "ExpectedObject",
    "ObjectCopiesReport",
    "ObjectRepair",
    "StoreCopy",
    "StoredPackageReader",
    "TwoCopiesReport",
    "audit_journal_seals",
    "audit_object_copies",
    "audit_packages",
    "audit_two_copies",
    "check_object",
]


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


def _version_findings(
    package_id: str, versions: Sequence[ObjectVersion], repaired: Mapping[str, str]
) -> list[Finding]:
    by_key: dict[str, list[ObjectVersion]] = defaultdict(list)
    for version in versions:
        by_key[version.key].append(version)
    findings = []
    for key, found in sorted(by_key.items()):
        path = key[len(package_key(package_id)) :]
        markers = [v for v in found if v.is_delete_marker]
        latest = next((v for v in found if v.is_latest), None)
        if (
            key in repaired
            and latest is not None
            and not latest.is_delete_marker
            and latest.version_id == repaired[key]
        ):
            continue  # the journaled repair's version is current: older ones are its history
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
    store: ObjectStore,
    bucket: str,
    package_id: str,
    seal_verifier: SealVerifier,
    repaired: Mapping[str, str] | None = None,
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
        _version_findings(package_id, versions, repaired or {}) + findings,
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


PRIMARY = "primary"
SECONDARY = "secondary"
_COPY_LABEL = {PRIMARY: "copie primaire", SECONDARY: "copie secondaire"}


@dataclass(frozen=True)
class StoreCopy:
    """One of the two stores holding the tenant's packages."""

    name: str
    """:data:`PRIMARY` or :data:`SECONDARY`."""
    store: ObjectStore
    bucket: str
    repaired: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Per package, the object versions written by earlier journaled repairs (key → version)."""


@dataclass(frozen=True)
class CopyRepair:
    """A damaged copy rewritten from the intact one."""

    package_id: str
    damaged: str
    """The store repaired (:data:`PRIMARY` or :data:`SECONDARY`)."""
    findings: tuple[Finding, ...]
    """What the audit found in the damaged copy."""
    copied: CopiedPackage
    """The damaged store's objects after the repair (``written``: the new locked versions)."""


@dataclass(frozen=True)
class TwoCopiesReport:
    """One audit batch over both stores."""

    report: AuditReport
    """Every finding (each message names its copy), counts summed over both stores."""
    repairs: tuple[CopyRepair, ...]
    """Copies repaired in this batch from the intact one."""
    unrepaired: tuple[str, ...]
    """Packages damaged in both copies (nothing to repair from): their findings stand."""


def lock_findings(
    store: ObjectStore, bucket: str, package_id: str, retain_until: datetime
) -> list[Finding]:
    """Objects of the package whose current version is not under a COMPLIANCE lock lasting
    until ``retain_until``."""
    now = datetime.now(UTC)
    if retain_until <= now:
        return []
    findings = []
    prefix = package_key(package_id)
    for version in store.versions(bucket, prefix):
        if not version.is_latest or version.is_delete_marker:
            continue
        info = store.stat(bucket, version.key, version_id=version.version_id or None)
        if info is not None and not lock_holds(info, retain_until, now):
            findings.append(
                Finding(
                    FindingKind.ALTERED,
                    version.key[len(prefix) :],
                    "Objet non verrouillé (COMPLIANCE) jusqu'à la fin de sa DUA.",
                    package_id,
                )
            )
    return findings


def _absent(findings: list[Finding]) -> bool:
    """True when the copy holds nothing of the package (the "package not found" finding)."""
    return any(f.kind == FindingKind.MISSING and not f.path for f in findings)


def _label(name: str, findings: list[Finding]) -> list[Finding]:
    return [replace(f, message=f"{_COPY_LABEL[name].capitalize()} : {f.message}") for f in findings]


def _check_copy(
    copy: StoreCopy, package_id: str, seal_verifier: SealVerifier, retain: datetime | None
) -> tuple[list[Finding], int, int]:
    found, checked, read = _audit_one(
        copy.store, copy.bucket, package_id, seal_verifier, copy.repaired.get(package_id)
    )
    if retain is not None and not _absent(found):
        found += lock_findings(copy.store, copy.bucket, package_id, retain)
    return _label(copy.name, found), checked, read


def audit_two_copies(
    primary: StoreCopy,
    secondary: StoreCopy,
    *,
    seal_verifier: SealVerifier,
    retain_until: Mapping[str, datetime],
    cursor: str | None = None,
    batch_size: int = 50,
    repair: bool = True,
) -> TwoCopiesReport:
    """Audit the next ``batch_size`` packages in both stores (the packages of ``retain_until``,
    the platform's archived ones, and whatever either store holds), each copy on its own:
    digests, seal, versions and locks. A package damaged (altered, missing, unlocked) in one
    copy and intact in the other is repaired from the intact one when ``repair``; a package
    damaged in both stays reported. An unreachable store (either) is a finding for every
    package of the batch, the other copy is audited anyway; both unreachable raise
    :class:`StorageUnavailable` (the batch is retried)."""
    candidates = set(retain_until)
    down: dict[str, str] = {}
    for copy in (primary, secondary):
        try:
            candidates |= set(copy.store.child_prefixes(copy.bucket, PACKAGES_PREFIX))
        except StorageUnavailable as exc:
            down[copy.name] = str(exc)
    if len(down) == 2:
        raise StorageUnavailable(f"aucune des deux copies n'est joignable : {down[PRIMARY]}")
    ordered = sorted(candidates)
    batch = [p for p in ordered if cursor is None or p > cursor][:batch_size]
    findings: list[Finding] = []
    repairs: list[CopyRepair] = []
    unrepaired: list[str] = []
    objects = size = 0
    for package_id in batch:
        retain = retain_until.get(package_id)
        if down:
            # One store is out: the other copy is audited, the missing one reported; nothing
            # is repaired until both can be compared again.
            [(name, reason)] = down.items()
            up = secondary if name == PRIMARY else primary
            found, checked, read = _check_copy(up, package_id, seal_verifier, retain)
            objects, size = objects + checked, size + read
            message = f"{_COPY_LABEL[name].capitalize()} injoignable, non auditée : {reason}"
            findings += [*found, Finding(FindingKind.MISSING, "", message, package_id)]
            continue
        first, checked, read = _check_copy(primary, package_id, seal_verifier, retain)
        objects, size = objects + checked, size + read
        second, checked, read = _check_copy(secondary, package_id, seal_verifier, retain)
        objects, size = objects + checked, size + read
        if retain is None and _absent(first) and _absent(second):
            continue  # destroyed: an empty prefix the store still lists, nothing to audit
        if retain is None and _absent(first) and not _absent(second):
            # Not archived here (destroyed, or never archived) yet kept by the second site.
            first = [
                Finding(
                    FindingKind.UNLISTED,
                    "",
                    "Paquet absent de la copie primaire et non archivé (détruit ?) mais gardé "
                    "par la copie secondaire : à traiter par l'archiviste sur le second site.",
                    package_id,
                )
            ]
            second = []
        findings += first + second
        if not (first or second) or retain is None:
            continue  # a package not (or no longer) archived: reported, never rewritten
        if (first and second) or not repair:
            unrepaired.append(package_id)
            continue
        good, damaged = (secondary, primary) if first else (primary, secondary)
        try:
            copied = copy_package(
                good.store, good.bucket, damaged.store, damaged.bucket, package_id, retain
            )
        except ArchivingError as exc:
            findings.append(
                Finding(
                    FindingKind.MISSING,
                    "",
                    f"Réparation de la {_COPY_LABEL[damaged.name]} impossible : {exc}",
                    package_id,
                )
            )
            unrepaired.append(package_id)
            continue
        repairs.append(CopyRepair(package_id, damaged.name, tuple(first or second), copied))
    done = not batch or batch[-1] == ordered[-1]
    report = AuditReport(
        findings=tuple(findings),
        packages_checked=tuple(batch),
        objects_checked=objects,
        bytes_read=size,
        next_cursor=None if done else batch[-1],
    )
    return TwoCopiesReport(report, tuple(repairs), tuple(unrepaired))


@dataclass(frozen=True)
class ExpectedObject:
    """An object kept beside the packages (a renewed copy, a journal seal, a destruction
    record) as the platform recorded it: both copies must hold these bytes, locked."""

    key: str
    sha256: str | None = None
    """Recorded SHA-256 (hex), when that is what the platform kept."""
    sha512: str | None = None
    """Recorded SHA-512 (hex)."""
    retain_until: datetime | None = None
    """COMPLIANCE lock end it was written with (None or past: no lock to check)."""
    package_id: str = ""
    """The package it belongs to ("" for journal seals)."""


@dataclass(frozen=True)
class ObjectRepair:
    """A damaged copy of an :class:`ExpectedObject` rewritten from the intact one."""

    expected: ExpectedObject
    damaged: str
    """:data:`PRIMARY` or :data:`SECONDARY`."""
    findings: tuple[Finding, ...]
    bucket: str
    """The repaired store's bucket."""
    written: StoredObject
    """The new locked version."""


@dataclass(frozen=True)
class ObjectCopiesReport:
    """The objects beside the packages, audited in both stores."""

    findings: tuple[Finding, ...]
    repairs: tuple[ObjectRepair, ...]
    unrepaired: tuple[ExpectedObject, ...]
    """Damaged in both copies: their findings stand."""
    objects_checked: int
    bytes_read: int


def check_object(
    copy: StoreCopy, item: ExpectedObject, now: datetime
) -> tuple[list[Finding], str, int]:
    """Findings on one copy (one store) of one recorded object: present, its recorded digest,
    locked; with the version read and the bytes read."""
    label = _COPY_LABEL[copy.name].capitalize()
    latest = next(
        (
            v
            for v in copy.store.versions(copy.bucket, item.key)
            if v.key == item.key and v.is_latest
        ),
        None,
    )
    info = (
        None
        if latest is None or latest.is_delete_marker
        else copy.store.stat(copy.bucket, item.key, version_id=latest.version_id or None)
    )
    if info is None:
        message = f"{label} : objet enregistré introuvable."
        return [Finding(FindingKind.MISSING, item.key, message, item.package_id)], "", 0
    sha256, sha512, size = hashlib.sha256(), hashlib.sha512(), 0
    with copy.store.open(copy.bucket, item.key, version_id=info.version_id or None) as stream:
        while chunk := stream.read(1024 * 1024):
            sha256.update(chunk)
            sha512.update(chunk)
            size += len(chunk)
    findings = []
    if (item.sha256 is not None and sha256.hexdigest() != item.sha256) or (
        item.sha512 is not None and sha512.hexdigest() != item.sha512
    ):
        findings.append(
            Finding(
                FindingKind.ALTERED,
                item.key,
                f"{label} : contenu différent de l'empreinte enregistrée.",
                item.package_id,
            )
        )
    if item.retain_until is not None and not lock_holds(info, item.retain_until, now):
        findings.append(
            Finding(
                FindingKind.ALTERED,
                item.key,
                f"{label} : objet non verrouillé (COMPLIANCE) jusqu'à la date prévue.",
                item.package_id,
            )
        )
    return findings, info.version_id, size


def audit_object_copies(
    primary: StoreCopy,
    secondary: StoreCopy,
    expected: Sequence[ExpectedObject],
    *,
    repair: bool = True,
) -> ObjectCopiesReport:
    """Each recorded object beside the packages in both stores: present, the recorded digest,
    locked to its date. One damaged copy is repaired from the intact one (a new locked
    version, read back) when ``repair``; damaged in both, it is reported."""
    now = datetime.now(UTC)
    findings: list[Finding] = []
    repairs: list[ObjectRepair] = []
    unrepaired: list[ExpectedObject] = []
    objects = size = 0
    for item in expected:
        first, first_version, read = check_object(primary, item, now)
        objects, size = objects + 1, size + read
        second, second_version, read = check_object(secondary, item, now)
        objects, size = objects + 1, size + read
        findings += first + second
        if not (first or second):
            continue
        if (first and second) or not repair:
            unrepaired.append(item)
            continue
        good, damaged, version = (
            (secondary, primary, second_version) if first else (primary, secondary, first_version)
        )
        try:
            written, _wrote = copy_object(
                good.store,
                good.bucket,
                damaged.store,
                damaged.bucket,
                item.key,
                item.retain_until,
                source_version=version,
            )
        except ArchivingError as exc:
            findings.append(
                Finding(
                    FindingKind.MISSING,
                    item.key,
                    f"Réparation de la {_COPY_LABEL[damaged.name]} impossible : {exc}",
                    item.package_id,
                )
            )
            unrepaired.append(item)
            continue
        repairs.append(
            ObjectRepair(item, damaged.name, tuple(first or second), damaged.bucket, written)
        )
    return ObjectCopiesReport(tuple(findings), tuple(repairs), tuple(unrepaired), objects, size)


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
