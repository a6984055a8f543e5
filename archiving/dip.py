"""Access and reversibility: a DIP zip for one package, and a whole tenant's export."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from archiving.audit import StoredPackageReader
from archiving.digests import digest_stream
from archiving.errors import PackageNotFoundError
from archiving.seals import SealVerifier
from archiving.storage.s3 import ObjectStore, ObjectVersion
from archiving.store import PACKAGES_PREFIX, package_key, renewals_prefix
from archiving.verify import Finding, FindingKind, verify_package

__all__ = [
    "DIP_MANIFEST",
    "PdfCheck",
    "TenantExport",
    "check_dip_renewals",
    "export_dip",
    "export_tenant",
]

DIP_MANIFEST = "dip-manifest.json"
VERIFICATION_REPORT = "verification-report.json"
RENEWALS_FOLDER = "renouvellements/"
"""Folder of a DIP holding the renewed copies of the package's signed PDFs."""
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
MAX_RENEWAL_BYTES = 512 * 1024 * 1024
CHUNK_BYTES = 1024 * 1024


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
        renewals = _write_renewals(store, bucket, package_id, reader.names(), archive)
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
            "renewals": renewals,
        }
        archive.writestr(DIP_MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1))
    return manifest


def _write_renewals(
    store: ObjectStore,
    bucket: str,
    package_id: str,
    bag_names: list[str],
    archive: zipfile.ZipFile,
) -> list[dict[str, object]]:
    """Copy the latest renewed copy of each signed PDF of the package (its newest archival
    timestamp chain) into the DIP, under ``renouvellements/``; their manifest entries."""
    latest: dict[str, ObjectVersion] = {}
    for version in store.versions(bucket, renewals_prefix(package_id)):
        if version.is_latest and not version.is_delete_marker:
            sequence, _, name = version.key.rsplit("/", 1)[-1].partition("-")
            if sequence.isdigit() and (name not in latest or version.key > latest[name].key):
                latest[name] = version
    entries: list[dict[str, object]] = []
    for name, version in sorted(latest.items()):
        renews = [n for n in bag_names if n.startswith("data/") and n.rsplit("/", 1)[-1] == name]
        path = f"{RENEWALS_FOLDER}{version.key.rsplit('/', 1)[-1]}"
        with (
            store.open(bucket, version.key, version_id=version.version_id or None) as source,
            archive.open(path, "w") as sink,
        ):
            digests = digest_stream(source, sink=sink)  # type: ignore[arg-type]
        entries.append(
            {
                "path": path,
                "key": version.key,
                "version_id": version.version_id,
                "renews": f"{package_id}/{renews[0]}" if len(renews) == 1 else None,
                "size": digests.size,
                "sha512": digests.sha512,
            }
        )
    return entries


PdfCheck = Callable[[bytes], str | None]
"""Validates a renewed PDF (its signatures and timestamp chain, archive mode): None when it
is valid, else the reason in French."""


def check_dip_renewals(
    archive: zipfile.ZipFile, *, check_pdf: PdfCheck | None = None
) -> tuple[Finding, ...]:
    """The renewed copies of a DIP, each checked against the sealed package it extends: listed
    digest and size, the bytes of the sealed original as its beginning (a renewal only appends
    an incremental update), and, given `check_pdf`, its signatures and timestamp chain. Empty
    for a DIP without renewals (or no DIP manifest: a plain bag)."""
    try:
        manifest = json.loads(archive.read(DIP_MANIFEST)[:MAX_MANIFEST_BYTES])
    except KeyError:
        return ()
    except ValueError:
        return (Finding(FindingKind.MALFORMED, DIP_MANIFEST, "Manifeste du DIP illisible."),)
    findings: list[Finding] = []
    for entry in manifest.get("renewals") or []:
        findings.extend(_check_renewal(archive, entry, check_pdf))
    return tuple(findings)


def _check_renewal(
    archive: zipfile.ZipFile, entry: dict[str, object], check_pdf: PdfCheck | None
) -> list[Finding]:
    path, renews = str(entry.get("path") or ""), str(entry.get("renews") or "")
    names = set(archive.namelist())
    if path not in names:
        return [Finding(FindingKind.MISSING, path, f"Copie renouvelée absente : {path}.")]
    if renews not in names:
        return [
            Finding(
                FindingKind.MALFORMED,
                path,
                f"La copie renouvelée {path} ne désigne aucun document du paquet.",
            )
        ]
    info = archive.getinfo(path)
    if info.file_size > MAX_RENEWAL_BYTES:
        return [
            Finding(FindingKind.MALFORMED, path, f"Copie renouvelée trop volumineuse : {path}.")
        ]
    copy = archive.read(path)
    if (len(copy), hashlib.sha512(copy).hexdigest()) != (entry.get("size"), entry.get("sha512")):
        return [
            Finding(
                FindingKind.ALTERED, path, f"{path} ne correspond pas à l'empreinte du manifeste."
            )
        ]
    with archive.open(renews) as original:
        offset = 0
        while chunk := original.read(CHUNK_BYTES):
            if copy[offset : offset + len(chunk)] != chunk:
                return [
                    Finding(
                        FindingKind.ALTERED,
                        path,
                        f"{path} ne prolonge pas le document scellé {renews} : "
                        "ses premiers octets en diffèrent.",
                    )
                ]
            offset += len(chunk)
    problem = check_pdf(copy) if check_pdf is not None else None
    if problem:
        return [Finding(FindingKind.BROKEN_SEAL, path, f"{path} : {problem}")]
    return []


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
