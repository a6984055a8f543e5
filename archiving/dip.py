"""Access and reversibility: a DIP zip for one package, and a whole tenant's export."""

from __future__ import annotations

import json
import zipfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from archiving.audit import StoredPackageReader
from archiving.digests import digest_stream
from archiving.errors import PackageNotFoundError
from archiving.seals import SealVerifier
from archiving.storage.s3 import ObjectStore
from archiving.store import PACKAGES_PREFIX, package_key
from archiving.verify import verify_package

__all__ = ["DIP_MANIFEST", "TenantExport", "export_dip", "export_tenant"]

DIP_MANIFEST = "dip-manifest.json"
VERIFICATION_REPORT = "verification-report.json"


def _reader(store: ObjectStore, bucket: str, package_id: str) -> StoredPackageReader:
    versions = store.versions(bucket, package_key(package_id))
    reader = StoredPackageReader(store, bucket, package_id, versions)
    if not reader.names():
        raise PackageNotFoundError(f"Aucun paquet {package_id} dans {bucket}.")
    return reader


def export_dip(
    store: ObjectStore, bucket: str, package_id: str, target: Path, *, seal_verifier: SealVerifier
) -> dict[str, object]:
    """Write ``target`` (zip): the sealed bag under ``<package_id>/``, a DIP manifest, and the
    package's verification report. Returns the DIP manifest. ``dematflow archives verify``
    checks the zip on its own.
    """
    reader = _reader(store, bucket, package_id)
    report = verify_package(reader, seal_verifier=seal_verifier)
    files = []
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in reader.names():
            with reader.open(name) as source, archive.open(f"{package_id}/{name}", "w") as sink:
                digests = digest_stream(source, sink=sink)  # type: ignore[arg-type]
            files.append(
                {"path": f"{package_id}/{name}", "size": digests.size, "sha512": digests.sha512}
            )
        summary = {
            "package_id": package_id,
            "intact": report.intact,
            "seal": {
                "valid": report.seal.valid if report.seal else False,
                "signer": report.seal.signer if report.seal else "",
                "timestamp": report.seal.timestamp.isoformat()
                if report.seal and report.seal.timestamp
                else None,
            },
            "findings": [asdict(f) for f in report.findings],
        }
        archive.writestr(VERIFICATION_REPORT, json.dumps(summary, ensure_ascii=False, indent=1))
        manifest: dict[str, object] = {
            "type": "DIP",
            "package_id": package_id,
            "exported_at": datetime.now(UTC).isoformat(),
            "bag": f"{package_id}/",
            "seda_manifest": f"{package_id}/data/seda/ArchiveTransfer.xml",
            "verification_report": VERIFICATION_REPORT,
            "files": files,
        }
        archive.writestr(DIP_MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1))
    return manifest


@dataclass(frozen=True)
class TenantExport:
    """What :func:`export_tenant` wrote."""

    directory: Path
    """Root of the export."""
    packages: tuple[str, ...]
    """Packages exported (each as a bag under ``packages/``)."""
    objects: int
    """Objects written (latest versions)."""
    bytes_written: int
    """Bytes written."""


def export_tenant(store: ObjectStore, bucket: str, directory: Path) -> TenantExport:
    """Copy every object's latest version of a tenant bucket to ``directory`` (reversibility).

    Packages come out as plain BagIt bags, journal seals as JSON and destruction records as
    SEDA XML; ``inventory.json`` lists every file with its SHA-512.
    """
    directory.mkdir(parents=True, exist_ok=False)
    inventory = []
    written = 0
    for version in store.versions(bucket, ""):
        if not version.is_latest or version.is_delete_marker:
            continue
        relative = PurePosixPath(version.key)
        if relative.is_absolute() or ".." in relative.parts:
            continue
        target = directory.joinpath(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        with (
            store.open(bucket, version.key, version_id=version.version_id or None) as source,
            target.open("xb") as sink,
        ):
            digests = digest_stream(source, sink=sink)
        written += digests.size
        inventory.append(
            {
                "key": version.key,
                "version_id": version.version_id,
                "size": digests.size,
                "sha512": digests.sha512,
            }
        )
    packages = tuple(store.child_prefixes(bucket, PACKAGES_PREFIX))
    (directory / "inventory.json").write_text(
        json.dumps(
            {"bucket": bucket, "exported_at": datetime.now(UTC).isoformat(), "objects": inventory},
            indent=1,
        ),
        encoding="utf-8",
    )
    return TenantExport(
        directory=directory, packages=packages, objects=len(inventory), bytes_written=written
    )
