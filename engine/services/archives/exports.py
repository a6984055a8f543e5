"""Access to stored packages: verify now, the DIP of one package, the tenant's whole export."""

from __future__ import annotations

import json
import zipfile
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from archiving import (
    ArchivingError,
    Finding,
    PackageReport,
    export_dip,
    export_tenant,
    verify_package,
)
from archiving.audit import StoredPackageReader
from archiving.dip import PdfCheck, check_dip_renewals
from archiving.store import package_key
from engine.domain.archives import (
    ArchivedPackage,
)
from engine.domain.journal import utc_iso
from engine.domain.model import Actor
from engine.persistence.uow import UnitOfWork
from engine.services.archives.search import stored_package
from engine.services.archives.setup import (
    ArchiveSetup,
    ArchiveUnavailable,
)


def renewed_pdf_check(trust_roots: tuple[bytes, ...]) -> PdfCheck:
    """The check of a DIP's renewed copies: archive-mode validation (AdES-LTA, at the time of
    the embedded validation data) of their signatures and timestamp chain."""

    from signatures import SignatureError, ValidationOptions, validate_pdf_for_archive

    def check(data: bytes) -> str | None:
        try:
            report = validate_pdf_for_archive(data, ValidationOptions(trust_roots=trust_roots))
        except SignatureError as exc:
            return str(exc)
        return None if report.valid else report.summary

    return check


def dip_renewal_findings(path: Path, trust_roots: tuple[bytes, ...]) -> tuple[Finding, ...]:
    """The findings on the renewed copies of the DIP zip at `path` (none for a bag folder)."""
    if path.is_dir() or not zipfile.is_zipfile(path):
        return ()
    with zipfile.ZipFile(path) as archive:
        return check_dip_renewals(archive, check_pdf=renewed_pdf_check(trust_roots))


def verify_stored_package(
    uow: UnitOfWork, setup: ArchiveSetup, tenant: str, package_id: str
) -> PackageReport:
    """ "Verify now": re-read the stored package, recompute every digest, check its seal."""
    stored_package(uow, tenant, package_id)
    try:
        with setup.reading_store(tenant) as (store, bucket):
            versions = store.versions(bucket, package_key(package_id))
            reader = StoredPackageReader(store, bucket, package_id, versions)
            return verify_package(reader, seal_verifier=setup.seal_verifier)
    except ArchivingError as exc:
        raise ArchiveUnavailable(str(exc)) from exc


def export_package_dip(
    uow: UnitOfWork,
    setup: ArchiveSetup,
    tenant: str,
    package_id: str,
    target: Path,
    *,
    actor: Actor,
    now: datetime,
) -> dict[str, object]:
    """Write the DIP zip of one package (bag, verification report, manifest); journaled."""
    stored_package(uow, tenant, package_id)
    with setup.reading_store(tenant) as (store, bucket):  # either copy when one is down
        manifest = export_dip(store, bucket, package_id, target, seal_verifier=setup.seal_verifier)
    uow.journal.append(
        tenant=tenant,
        kind="archive.communicated",
        case_id=None,
        actor=actor.user_id,
        payload={"package": package_id, "files": len(manifest.get("files", []))},  # type: ignore[arg-type]
        now=now,
    )
    return manifest


def _package_record(package: ArchivedPackage) -> dict[str, Any]:
    record = asdict(package)
    record.pop("frozen")
    return json.loads(json.dumps(record, default=str))  # type: ignore[no-any-return]


def export_tenant_archives(
    uow: UnitOfWork,
    setup: ArchiveSetup,
    tenant: str,
    directory: Path,
    *,
    actor: Actor,
    now: datetime,
) -> dict[str, int]:
    """Reversibility: every stored object (packages, their renewed copies, journal seals,
    destruction records), plus the platform's records in open formats (packages, timestamp
    renewals, retention decisions, journal seals as JSON, the whole journal as JSON Lines)."""
    with setup.reading_store(tenant) as (store, bucket):  # either copy when one is down
        result = export_tenant(store, bucket, directory / "stockage")
    platform = directory / "plateforme"
    platform.mkdir()
    packages = uow.archives.search(tenant, limit=1_000_000)
    (platform / "paquets.json").write_text(
        json.dumps([_package_record(p) for p in packages], ensure_ascii=False, indent=1), "utf-8"
    )
    decisions = [asdict(d) for d in uow.archives.decisions(tenant)]
    (platform / "decisions-de-sort-final.json").write_text(
        json.dumps(decisions, ensure_ascii=False, indent=1, default=str), "utf-8"
    )
    renewals = [
        json.loads(json.dumps(asdict(r), default=str))
        for package in packages
        for r in uow.timestamp_renewals.for_package(tenant, package.package_id)
    ]
    (platform / "renouvellements-horodatage.json").write_text(
        json.dumps(renewals, ensure_ascii=False, indent=1), "utf-8"
    )
    seals = [json.loads(s.to_json()) for s in uow.archives.seals(tenant)]
    (platform / "sceaux-journal.json").write_text(json.dumps(seals, indent=1), "utf-8")
    entries = 0
    with (platform / "journal.jsonl").open("w", encoding="utf-8") as sink:
        for entry in uow.journal.iter_entries(tenant):
            body = asdict(entry)
            body["case_id"] = str(entry.case_id) if entry.case_id else None
            body["recorded_at"] = utc_iso(entry.recorded_at)
            sink.write(json.dumps(body, ensure_ascii=False, sort_keys=True) + "\n")
            entries += 1
    uow.journal.append(
        tenant=tenant,
        kind="archive.exported",
        case_id=None,
        actor=actor.user_id,
        payload={"objects": result.objects, "packages": len(result.packages)},
        now=now,
    )
    return {
        "objects": result.objects,
        "packages": len(result.packages),
        "bytes": result.bytes_written,
        "journal_entries": entries,
    }
