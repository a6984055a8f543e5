"""Check a package on its own: bag manifests, SEDA digests and schema, the seal and its timestamp."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from archiving.bag import (
    BAG_INFO,
    BAGIT_TXT,
    MANIFEST,
    SEAL,
    SEDA_MANIFEST,
    TAG_MANIFEST,
    TRAINING_CLOCK_OFFSET,
    parse_manifest_text,
)
from archiving.digests import CHUNK_SIZE
from archiving.errors import InvalidManifestError
from archiving.readers import PackageReader
from archiving.seals import SealCheck, SealVerifier
from archiving.seda import (
    DIGEST_ALGORITHM,
    SEDA_NS,
    parse_manifest,
    read_manifest_digests,
    validate_manifest,
)

__all__ = ["Finding", "FindingKind", "PackageReport", "verify_package"]

MAX_TAG_FILE_BYTES = 50 * 1024 * 1024
_CONTENT_DATES = (
    "EndDate",
    "TransactedDate",
    "CreatedDate",
    "SentDate",
    "ReceivedDate",
    "RegisteredDate",
    "AcquiredDate",
)
"""SEDA elements dating the content: a seal made before any of them is back-dated."""
_EARLIEST_OFFSET = timedelta(hours=14)
"""A calendar date starts at most 14 hours before midnight UTC (UTC+14)."""
CLOCK_TOLERANCE = timedelta(minutes=10)
"""Skew allowed between the platform's clock (package dates) and the TSA's (seal time)."""


class FindingKind(StrEnum):
    """What is wrong."""

    MISSING = "missing"
    ALTERED = "altered"
    UNLISTED = "unlisted"
    EXTRA_VERSION = "extra-version"
    BROKEN_SEAL = "broken-seal"
    BACKDATED_SEAL = "backdated-seal"
    INVALID_MANIFEST = "invalid-manifest"
    SEDA_MISMATCH = "seda-mismatch"
    MALFORMED = "malformed"


@dataclass(frozen=True)
class Finding:
    """One problem found in a package."""

    kind: FindingKind
    """Category of the problem."""
    path: str
    """File concerned (relative to the bag root), or "" for the whole package."""
    message: str
    """Explanation in French."""
    package_id: str = ""
    """Package concerned (filled in audits covering several packages)."""


@dataclass(frozen=True)
class PackageReport:
    """Verdict on one package: every finding, the seal check, what was read."""

    package_id: str
    """``External-Identifier`` of the bag (or "" when unreadable)."""
    findings: tuple[Finding, ...]
    """Every problem found; empty for an intact package."""
    seal: SealCheck | None
    """Result of the seal check (None when there was no seal to check)."""
    files_checked: int
    """Files whose digests were recomputed."""
    bytes_read: int
    """Bytes read and hashed."""
    notes: tuple[str, ...] = ()
    """What a reader must know and is no anomaly (French), e.g. a training space's dates."""

    @property
    def intact(self) -> bool:
        """True when nothing is wrong: the package proves its own integrity and date."""
        return not self.findings


@dataclass
class _Check:
    reader: PackageReader
    names: set[str]
    findings: list[Finding] = field(default_factory=list)
    computed: dict[str, str] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    bytes_read: int = 0

    def add(self, kind: FindingKind, path: str, message: str) -> None:
        self.findings.append(Finding(kind=kind, path=path, message=message))

    def read_small(self, name: str) -> bytes | None:
        if name not in self.names:
            self.add(FindingKind.MISSING, name, f"Fichier obligatoire absent : {name}.")
            return None
        with self.reader.open(name) as stream:
            data = stream.read(MAX_TAG_FILE_BYTES + 1)
        if len(data) > MAX_TAG_FILE_BYTES:
            self.add(
                FindingKind.MALFORMED, name, f"Fichier de métadonnées trop volumineux : {name}."
            )
            return None
        self.bytes_read += len(data)
        return data

    def sha512(self, name: str) -> str:
        if name not in self.computed:
            digest = hashlib.sha512()
            size = 0
            with self.reader.open(name) as stream:
                while chunk := stream.read(CHUNK_SIZE):
                    digest.update(chunk)
                    size += len(chunk)
            self.bytes_read += size
            self.computed[name] = digest.hexdigest()
            self.sizes[name] = size
        return self.computed[name]

    def compare(self, listing: bytes, what: str) -> set[str]:
        entries, bad = parse_manifest_text(listing)
        for line in bad:
            self.add(FindingKind.MALFORMED, what, f"Ligne illisible dans {what} : {line!r}.")
        for path, expected in sorted(entries.items()):
            if path not in self.names:
                self.add(FindingKind.MISSING, path, f"Fichier listé dans {what} mais absent.")
            elif self.sha512(path) != expected:
                self.add(
                    FindingKind.ALTERED, path, f"L'empreinte de {path} ne correspond plus à {what}."
                )
        return set(entries)


def _check_seal(
    check: _Check, tag_manifest: bytes | None, verifier: SealVerifier, tenant: str
) -> SealCheck | None:
    seal = check.read_small(SEAL)
    if seal is None or tag_manifest is None:
        check.add(FindingKind.BROKEN_SEAL, SEAL, "Le paquet n'est pas scellé.")
        return None
    result = verifier.verify(tag_manifest, seal, tenant=tenant)
    for problem in result.problems:
        check.add(FindingKind.BROKEN_SEAL, SEAL, f"Sceau invalide : {problem}")
    if result.valid and result.timestamp is None:
        check.add(FindingKind.BROKEN_SEAL, SEAL, "Le sceau ne porte pas d'horodatage valide.")
    elif not result.valid and not result.problems:
        check.add(FindingKind.BROKEN_SEAL, SEAL, "Le sceau n'est pas valide.")
    return result


def _earliest(value: str) -> datetime | None:
    """The earliest instant a SEDA/BagIt date or date-time can denote (None if unreadable)."""
    value = value.strip()
    try:
        if "T" in value:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        day = date.fromisoformat(value[:10])
    except ValueError:
        return None
    return datetime.combine(day, time.min, tzinfo=UTC) - _EARLIEST_OFFSET


def _content_dates(bag_info: bytes | None, seda: bytes | None) -> list[tuple[str, datetime]]:
    """Dates the package gives its own content: Bagging-Date, the SEDA message and unit dates."""
    found: list[tuple[str, datetime]] = []
    bagging = _bag_field(bag_info, "Bagging-Date")
    if bagging and (moment := _earliest(bagging)):
        found.append(("Bagging-Date", moment))
    if seda is None:
        return found
    try:
        root = parse_manifest(seda)
    except InvalidManifestError:
        return found
    q = "{" + SEDA_NS + "}"
    message_date = root.findtext(q + "Date")
    if message_date and (moment := _earliest(message_date)):
        found.append(("Date du message SEDA", moment))
    for tag in _CONTENT_DATES:
        for node in root.iter(q + tag):
            if node.text and (moment := _earliest(node.text)):
                found.append((tag, moment))
    return found


def _check_seal_date(
    check: _Check, seal: SealCheck | None, bag_info: bytes | None, seda: bytes | None
) -> None:
    if seal is None or seal.timestamp is None:
        return
    offset = _training_offset(bag_info)  # dates on a training clock, told in the sealed bag-info
    later = [
        (what, moment)
        for what, moment in _content_dates(bag_info, seda)
        if moment - offset > seal.timestamp + CLOCK_TOLERANCE
    ]
    if later:
        what, moment = max(later, key=lambda item: item[1])
        check.add(
            FindingKind.BACKDATED_SEAL,
            SEAL,
            f"Sceau antidaté : horodaté le {seal.timestamp.isoformat()}, avant le contenu "
            f"qu'il scelle ({what} : {moment.isoformat()}).",
        )


def _check_seda(check: _Check) -> bytes | None:
    data = check.read_small(SEDA_MANIFEST)
    if data is None:
        return None
    for problem in validate_manifest(data):
        check.add(FindingKind.INVALID_MANIFEST, SEDA_MANIFEST, f"Schéma SEDA 2.3 : {problem}")
    try:
        described = read_manifest_digests(data)
    except InvalidManifestError:
        described = {}
    for uri, (algorithm, digest, size) in sorted(described.items()):
        path = f"data/{uri}"
        if path not in check.names:
            check.add(
                FindingKind.SEDA_MISMATCH, path, "Objet décrit dans le manifeste SEDA mais absent."
            )
            continue
        if algorithm != DIGEST_ALGORITHM:
            check.add(
                FindingKind.SEDA_MISMATCH, path, f"Algorithme d'empreinte inattendu : {algorithm}."
            )
        elif check.sha512(path) != digest:
            check.add(
                FindingKind.SEDA_MISMATCH, path, "L'empreinte diffère de celle du manifeste SEDA."
            )
        if size is not None and check.sizes.get(path) != size:
            check.add(
                FindingKind.SEDA_MISMATCH, path, "La taille diffère de celle du manifeste SEDA."
            )
    payload = {name for name in check.names if name.startswith("data/")} - {SEDA_MANIFEST}
    for path in sorted(payload - {f"data/{uri}" for uri in described}):
        check.add(
            FindingKind.SEDA_MISMATCH, path, "Fichier du paquet non décrit dans le manifeste SEDA."
        )
    return data


def _bag_field(bag_info: bytes | None, name: str) -> str:
    for line in (bag_info or b"").decode("utf-8", errors="replace").splitlines():
        label, _, value = line.partition(":")
        if label.strip() == name:
            return value.strip()
    return ""


MAX_TRAINING_OFFSET = timedelta(days=366 * 10)


def _training_offset(bag_info: bytes | None) -> timedelta:
    """A training space's clock advance declared in the (sealed) bag-info; none otherwise, or
    when unreadable, negative or beyond ten years."""
    value = _bag_field(bag_info, TRAINING_CLOCK_OFFSET)
    if not value.isdigit():
        return timedelta(0)
    offset = timedelta(seconds=int(value))
    return offset if offset <= MAX_TRAINING_OFFSET else timedelta(0)


def _package_id(bag_info: bytes | None) -> str:
    return _bag_field(bag_info, "External-Identifier")


def _tenant(bag_info: bytes | None) -> str:
    """The tenant's SIREN from bag-info (it only selects which *configured* seal applies)."""
    address = _bag_field(bag_info, "Organization-Address")
    return address.removeprefix("SIREN").strip()


def verify_package(reader: PackageReader, *, seal_verifier: SealVerifier) -> PackageReport:
    """Check everything a package carries, hashing each file once; list every finding.

    The seal must come from the seal the verifier expects for the package's tenant, and its
    timestamp must not precede the dates the package gives its own content.
    """
    check = _Check(reader=reader, names=set(reader.names()))
    declaration = check.read_small(BAGIT_TXT)
    if declaration is not None and not declaration.startswith(b"BagIt-Version: "):
        check.add(FindingKind.MALFORMED, BAGIT_TXT, "Déclaration BagIt illisible.")
    bag_info = check.read_small(BAG_INFO)
    tag_manifest = check.read_small(TAG_MANIFEST)
    seal = _check_seal(check, tag_manifest, seal_verifier, _tenant(bag_info))
    tag_listed = check.compare(tag_manifest, TAG_MANIFEST) if tag_manifest is not None else set()
    manifest = check.read_small(MANIFEST)
    listed = check.compare(manifest, MANIFEST) if manifest is not None else set()
    for name in sorted(check.names - listed - tag_listed - {TAG_MANIFEST, SEAL}):
        where = MANIFEST if name.startswith("data/") else TAG_MANIFEST
        check.add(FindingKind.UNLISTED, name, f"Fichier présent mais absent de {where}.")
    for required in (BAG_INFO, MANIFEST, BAGIT_TXT):
        if tag_manifest is not None and required in check.names and required not in tag_listed:
            check.add(FindingKind.UNLISTED, required, f"{required} n'est pas couvert par le sceau.")
    seda = _check_seda(check)
    _check_seal_date(check, seal, bag_info, seda)
    return PackageReport(
        package_id=_package_id(bag_info),
        findings=tuple(check.findings),
        seal=seal,
        files_checked=len(check.computed),
        bytes_read=check.bytes_read,
        notes=_notes(bag_info),
    )


def _notes(bag_info: bytes | None) -> tuple[str, ...]:
    offset = _training_offset(bag_info)
    if not offset:
        return ()
    return (
        "Paquet d'un espace de formation : ses dates suivent l'horloge de formation, en avance "
        f"de {offset.days} jour(s) sur le temps réel du sceau (déclaré dans bag-info.txt, scellé) ; "
        "la date du sceau est comparée à ses dates ramenées au temps réel.",
    )
