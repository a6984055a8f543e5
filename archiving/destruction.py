"""Controlled destruction: only once every lock has expired, leaving a SEDA destruction record."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree  # type: ignore[import-untyped]

from archiving.digests import digest_bytes
from archiving.errors import PackageNotFoundError, RetentionActiveError
from archiving.model import Agency, check_package_id
from archiving.seda import check_manifest, element, organisation
from archiving.storage.s3 import ObjectStore
from archiving.store import package_key

__all__ = ["DESTRUCTION_PREFIX", "DestructionRecord", "destroy_package"]

DESTRUCTION_PREFIX = "destruction-records/"


@dataclass(frozen=True)
class DestructionRecord:
    """Proof that a package was destroyed, and how."""

    package_id: str
    """Package destroyed."""
    destroyed_at: datetime
    """When the objects were deleted."""
    objects: tuple[str, ...]
    """``key@version`` of every object version deleted."""
    notification: bytes
    """SEDA 2.3 ``ArchiveDestructionNotification`` (validated)."""
    record_key: str
    """Where the notification is kept, under Object Lock, in the tenant bucket."""


def _notification(
    package_id: str,
    *,
    authorization: str,
    archival_agency: Agency,
    originating_agency: Agency,
    objects: list[str],
    now: datetime,
) -> bytes:
    root = element(None, "ArchiveDestructionNotification")
    element(
        root,
        "Comment",
        f"Élimination du paquet {package_id} : {len(objects)} objet(s) supprimé(s).",
    )
    for item in objects:
        element(root, "Comment", f"Objet supprimé : {item}")
    element(
        root, "Date", now.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    )
    element(root, "MessageIdentifier", f"ELIM-{package_id}")
    element(root, "CodeListVersions")
    element(root, "AuthorizationRequestReplyIdentifier", authorization)
    element(root, "UnitIdentifier", package_id)
    organisation(root, "ArchivalAgency", archival_agency)
    organisation(root, "OriginatingAgency", originating_agency)
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    check_manifest(data)
    return data


def destroy_package(
    store: ObjectStore,
    bucket: str,
    package_id: str,
    *,
    authorization: str,
    archival_agency: Agency,
    originating_agency: Agency,
    record_retain_until: datetime,
    now: datetime | None = None,
) -> DestructionRecord:
    """Delete every version of a package whose retention has expired and that has no legal hold.

    ``authorization`` identifies the archivist's approval (visa d'élimination). Nothing is
    deleted unless every version is free: otherwise :class:`RetentionActiveError`. The record
    is validated and stored (COMPLIANCE until ``record_retain_until``) before the deletion.
    """
    check_package_id(package_id)
    now = now or datetime.now(UTC)
    versions = store.versions(bucket, package_key(package_id))
    if not versions:
        raise PackageNotFoundError(f"Aucun paquet {package_id} dans {bucket}.")
    for version in versions:
        if version.is_delete_marker:
            continue
        info = store.stat(bucket, version.key, version_id=version.version_id)
        if info is not None and (
            info.legal_hold or (info.retain_until is not None and info.retain_until > now)
        ):
            raise RetentionActiveError(
                f"Élimination refusée : {version.key} est protégé "
                + (
                    "par une conservation pour litige."
                    if info.legal_hold
                    else f"jusqu'au {info.retain_until:%d/%m/%Y}."
                )
            )
    objects = [f"{v.key}@{v.version_id}" for v in versions]
    notification = _notification(
        package_id,
        authorization=authorization,
        archival_agency=archival_agency,
        originating_agency=originating_agency,
        objects=objects,
        now=now,
    )
    record_key = f"{DESTRUCTION_PREFIX}{package_id}.xml"
    store.require_object_lock(bucket)
    store.put(
        bucket,
        record_key,
        io.BytesIO(notification),
        digest_bytes(notification),
        retain_until=record_retain_until,
        content_type="application/xml",
    )
    for version in versions:
        store.delete_version(bucket, version.key, version.version_id)
    return DestructionRecord(
        package_id=package_id,
        destroyed_at=now,
        objects=tuple(objects),
        notification=notification,
        record_key=record_key,
    )
