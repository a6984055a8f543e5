"""Build a sealed BagIt bag (RFC 8493, SHA-512) holding a case's files and its SEDA manifest."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from archiving.digests import FileDigests, copy_and_digest, digest_bytes
from archiving.errors import InvalidPackageInputError
from archiving.model import PackageSpec
from archiving.seals import Sealer, SealerIdentity

__all__ = [
    "BAGIT_TXT",
    "BAG_INFO",
    "MANIFEST",
    "SEAL",
    "SEDA_MANIFEST",
    "TAG_MANIFEST",
    "BuiltPackage",
    "build_package",
    "manifest_text",
    "parse_manifest_text",
]

BAGIT_TXT = "bagit.txt"
BAG_INFO = "bag-info.txt"
MANIFEST = "manifest-sha512.txt"
TAG_MANIFEST = "tagmanifest-sha512.txt"
SEAL = "tagmanifest-sha512.txt.p7s"
"""The operator's detached CMS seal over the tag manifest (with its RFC 3161 timestamp)."""
SEDA_MANIFEST = "data/seda/ArchiveTransfer.xml"
_BAGIT_DECLARATION = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"


@dataclass(frozen=True)
class BuiltPackage:
    """A sealed bag on disk with the digests of every file, computed while writing it."""

    package_id: str
    """Identifier of the package (also the bag's directory name)."""
    path: Path
    """The bag's root directory."""
    files: Mapping[str, FileDigests]
    """Every file of the bag (relative POSIX path) with its size and digests."""
    retain_until: date
    """End of the DUA: objects are locked in COMPLIANCE mode until this date."""
    final_action: str
    """SEDA final action once the DUA has elapsed (``Keep`` or ``Destroy``)."""

    @property
    def total_bytes(self) -> int:
        """Bytes in the whole bag."""
        return sum(item.size for item in self.files.values())


def manifest_text(entries: Mapping[str, FileDigests]) -> bytes:
    """A BagIt manifest (``<sha512>  <path>`` lines, sorted by path)."""
    lines = (f"{entries[name].sha512}  {name}\n" for name in sorted(entries))
    return "".join(lines).encode("utf-8")


def parse_manifest_text(data: bytes) -> tuple[dict[str, str], list[str]]:
    """Path -> hex digest from a BagIt manifest, and the lines it could not read."""
    entries: dict[str, str] = {}
    bad: list[str] = []
    for line in data.decode("utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        digest, _, path = line.partition(" ")
        path = path.lstrip(" ").lstrip("*")
        if not path or not digest:
            bad.append(line)
            continue
        entries[path] = digest.lower()
    return entries, bad


TRAINING_CLOCK_OFFSET = "Training-Clock-Offset-Seconds"
"""bag-info.txt label: how far a training space's clock stood ahead of the real time."""


def _bag_info(spec: PackageSpec, payload: Mapping[str, FileDigests], seal: SealerIdentity) -> bytes:
    octets = sum(item.size for item in payload.values())
    fields = [
        ("Source-Organization", spec.tenant.name),
        ("Organization-Address", f"SIREN {spec.tenant.identifier}"),
        ("External-Identifier", spec.package_id),
        ("External-Description", spec.title),
        ("Bagging-Date", spec.closed_at.date().isoformat()),
        ("Payload-Oxum", f"{octets}.{len(payload)}"),
        ("Bag-Software-Agent", "dematflow archiving"),
        ("Archival-Agency", f"{spec.archival_agency.identifier} {spec.archival_agency.name}"),
        ("DUA-Rule", spec.appraisal.rule_id),
        ("DUA-End-Date", spec.appraisal.end_date.isoformat()),
        ("Final-Action", spec.appraisal.final_action.value),
        # For information only: verifiers take the expected seal from their own configuration.
        ("Seal-Certificate-SHA256", seal.fingerprint),
        ("Seal-Subject", seal.subject),
        ("Seal-Key-Usage", " ".join(seal.key_usage)),
        *(
            [(TRAINING_CLOCK_OFFSET, str(int(spec.clock_offset.total_seconds())))]
            if spec.clock_offset
            else []
        ),
        *spec.extra_info,
    ]
    text = "".join(f"{label}: {' '.join(str(value).split())}\n" for label, value in fields)
    return text.encode("utf-8")


def _write(root: Path, name: str, data: bytes, digests: dict[str, FileDigests]) -> None:
    target = root / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    digests[name] = digest_bytes(data)


def _copy_payload(spec: PackageSpec, root: Path) -> dict[str, FileDigests]:
    payload: dict[str, FileDigests] = {}
    for item in spec.files:
        payload[item.bag_path] = copy_and_digest(item.source, root / item.bag_path)
    return payload


def build_package(spec: PackageSpec, directory: Path, *, sealer: Sealer) -> BuiltPackage:
    """Write the sealed bag of ``spec`` as ``directory/<package_id>`` and return its digests.

    Every input byte is read once: copied into ``data/`` while its SHA-512 (manifests, SEDA)
    and SHA-256 (S3 checksum) are computed. The SEDA manifest is validated before anything
    is sealed; the bag appears under its final name only once complete.
    """
    from archiving.seda import build_archive_transfer

    spec.check()
    final = directory / spec.package_id
    if final.exists():
        raise InvalidPackageInputError(f"Le paquet {spec.package_id} existe déjà dans {directory}.")
    work = directory / f".{spec.package_id}.partial"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        payload = _copy_payload(spec, work)
        tags: dict[str, FileDigests] = {}
        _write(work, SEDA_MANIFEST, build_archive_transfer(spec, payload), payload)
        _write(work, BAGIT_TXT, _BAGIT_DECLARATION, tags)
        _write(work, BAG_INFO, _bag_info(spec, payload, sealer.identity()), tags)
        _write(work, MANIFEST, manifest_text(payload), tags)
        tag_manifest = manifest_text(tags)
        everything = {**payload, **tags}
        _write(work, TAG_MANIFEST, tag_manifest, everything)
        _write(work, SEAL, sealer.seal(tag_manifest), everything)
        os.replace(work, final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return BuiltPackage(
        package_id=spec.package_id,
        path=final,
        files=everything,
        retain_until=spec.appraisal.end_date,
        final_action=spec.appraisal.final_action.value,
    )
