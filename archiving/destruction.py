"""Controlled destruction: only once every lock has expired and with the visa d'élimination of
the Archives départementales (Code du patrimoine, art. R212-14), leaving a sealed, timestamped
SEDA destruction record under COMPLIANCE lock that can be checked offline."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime

from lxml import etree  # type: ignore[import-untyped]

from archiving.digests import digest_bytes
from archiving.errors import (
    ArchivingError,
    PackageNotFoundError,
    RetentionActiveError,
    StorageError,
)
from archiving.model import Agency, check_package_id
from archiving.seals import Sealer, SealVerifier
from archiving.seda import (
    SEDA_NS,
    check_manifest,
    element,
    organisation,
    parse_manifest,
    validate_manifest,
)
from archiving.storage.s3 import ObjectStore, ObjectVersion
from archiving.store import package_copies, package_key

__all__ = [
    "DESTRUCTION_PREFIX",
    "MAX_RECORD_BYTES",
    "MAX_VISA_BYTES",
    "DestructionCheck",
    "DestructionDescription",
    "DestructionRecord",
    "EliminationVisa",
    "destroy_package",
    "destruction_record_zip",
    "record_keys",
    "verify_destruction_record",
]

DESTRUCTION_PREFIX = "destruction-records/"
MAX_VISA_BYTES = 20 * 1024 * 1024
"""Largest signed bordereau (visa d'élimination) accepted, in bytes."""
MAX_RECORD_BYTES = MAX_VISA_BYTES + 5 * 1024 * 1024
"""Largest downloaded destruction record (zip) that verification reads."""
RECORD_NAME = "bordereau-elimination.xml"
SEAL_NAME = "bordereau-elimination.xml.p7s"
VISA_NAME = "visa-elimination.pdf"
_OBJECT = re.compile(r"^Objet détruit : (\S+) SHA-512 ([0-9a-f]{128})$")
_VISA = re.compile(r"^Visa d'élimination : .* ; bordereau signé SHA-512 ([0-9a-f]{128})$")


@dataclass(frozen=True)
class EliminationVisa:
    """The visa d'élimination given by the Archives départementales (R212-14)."""

    reference: str
    """The visa's reference, as the Archives départementales wrote it."""
    issued_on: date
    """Date of the visa."""
    bordereau_pdf: bytes
    """The signed bordereau d'élimination, as a PDF."""

    def check(self, today: date) -> None:
        """Raise :class:`ArchivingError` unless the visa is complete and plausible."""
        reference = self.reference.strip()
        if not reference or len(reference) > 100 or not reference.isprintable():
            raise ArchivingError("Référence du visa d'élimination manquante ou invalide.")
        if self.issued_on > today:
            raise ArchivingError("La date du visa d'élimination est dans le futur.")
        if len(self.bordereau_pdf) > MAX_VISA_BYTES:
            raise ArchivingError("Bordereau d'élimination visé trop volumineux (20 Mo au plus).")
        if not self.bordereau_pdf.startswith(b"%PDF-"):
            raise ArchivingError("Le bordereau d'élimination visé doit être un fichier PDF.")


@dataclass(frozen=True)
class DestructionDescription:
    """What the record says of the destroyed package besides its objects."""

    title: str
    dua_rule: str
    """The retention rule (DUA) that ended."""
    motif: str
    approvers: tuple[str, ...]
    """Who approved the elimination (the archivist, named)."""
    package_seal_sha512: str
    """SHA-512 of the package's seal (identifies the sealed package destroyed)."""


def record_keys(package_id: str) -> tuple[str, str, str]:
    """Store keys of the record, its seal and the visa PDF."""
    base = f"{DESTRUCTION_PREFIX}{package_id}"
    return f"{base}.xml", f"{base}.xml.p7s", f"{base}.visa.pdf"


@dataclass(frozen=True)
class DestructionRecord:
    """Proof that a package was destroyed, and how."""

    package_id: str
    """Package destroyed."""
    destroyed_at: datetime
    """When the objects were deleted."""
    objects: tuple[tuple[str, str], ...]
    """(``key@version``, SHA-512 read back before deletion) of every object version deleted."""
    notification: bytes
    """SEDA 2.3 ``ArchiveDestructionNotification`` (validated)."""
    seal: bytes
    """Detached CMS seal with RFC 3161 timestamp over ``notification``."""
    record_key: str
    """Where the notification is kept, under Object Lock, in the tenant bucket."""


def _iso(now: datetime) -> str:
    return now.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _notification(
    package_id: str,
    *,
    visa: EliminationVisa,
    description: DestructionDescription,
    archival_agency: Agency,
    originating_agency: Agency,
    objects: list[tuple[str, str]],
    now: datetime,
) -> bytes:
    root = element(None, "ArchiveDestructionNotification")
    lines = [
        f"Élimination du paquet {package_id} : {len(objects)} objet(s) supprimé(s).",
        f"Titre : {description.title}",
        f"Règle de conservation (DUA) : {description.dua_rule}",
        f"Motif : {description.motif or '(aucun)'}",
        *(f"Approuvé par : {who}" for who in description.approvers),
        f"Sceau du paquet détruit SHA-512 {description.package_seal_sha512}",
        f"Visa d'élimination : {visa.reference.strip()} du {visa.issued_on:%d/%m/%Y} ; "
        f"bordereau signé SHA-512 {hashlib.sha512(visa.bordereau_pdf).hexdigest()}",
        *(f"Objet détruit : {item} SHA-512 {sha512}" for item, sha512 in objects),
    ]
    for line in lines:
        element(root, "Comment", line)
    element(root, "Date", _iso(now))
    element(root, "MessageIdentifier", f"ELIM-{package_id}")
    element(root, "CodeListVersions")
    element(root, "AuthorizationRequestReplyIdentifier", visa.reference.strip())
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
    visa: EliminationVisa,
    description: DestructionDescription,
    sealer: Sealer,
    archival_agency: Agency,
    originating_agency: Agency,
    record_retain_until: datetime,
    now: datetime | None = None,
    secondary: tuple[ObjectStore, str] | None = None,
) -> DestructionRecord:
    """Delete every version of a package and of its renewed copies (timestamp renewals) whose
    retention has expired and that has no legal hold, in ``store`` and in the ``secondary``
    (store, bucket) holding its second copy, if any.

    ``visa`` is the Archives départementales' visa d'élimination. Nothing is deleted unless
    every version of both copies is free: otherwise :class:`RetentionActiveError`; a second
    store that cannot be reached stops the destruction before anything is written (no copy is
    left behind). Each version is read back and its SHA-512 listed in the record (the second
    copy's as ``copie-secondaire:<key>@<version>``); the record, its seal (detached CMS +
    RFC 3161) and the visa PDF are stored in both stores (COMPLIANCE until
    ``record_retain_until``, read back) before the deletion.
    """
    check_package_id(package_id)
    now = now or datetime.now(UTC)
    visa.check(now.date())
    versions = package_copies(store, bucket, package_id)  # renewed copies go with the package
    if not any(v.key.startswith(package_key(package_id)) for v in versions):
        raise PackageNotFoundError(f"Aucun paquet {package_id} dans {bucket}.")
    copies = [(store, bucket, versions, "")]
    if secondary is not None:
        second, second_bucket = secondary
        second.require_object_lock(second_bucket)
        copies.append(
            (
                second,
                second_bucket,
                package_copies(second, second_bucket, package_id),
                SECONDARY_COPY_TAG,
            )
        )
    for where, where_bucket, found, _tag in copies:
        _require_free(where, where_bucket, found, now)
    objects = [
        (
            f"{tag}{v.key}@{v.version_id}",
            "0" * 128
            if v.is_delete_marker
            else where.read_digest(where_bucket, v.key, version_id=v.version_id)[1],
        )
        for where, where_bucket, found, tag in copies
        for v in found
    ]
    notification = _notification(
        package_id,
        visa=visa,
        description=description,
        archival_agency=archival_agency,
        originating_agency=originating_agency,
        objects=objects,
        now=now,
    )
    seal = sealer.seal(notification)
    record_key, seal_key, visa_key = record_keys(package_id)
    for where, where_bucket, _found, _tag in copies:
        where.require_object_lock(where_bucket)
        for key, body, kind in (
            (visa_key, visa.bordereau_pdf, "application/pdf"),
            (seal_key, seal, "application/pkcs7-signature"),
            (record_key, notification, "application/xml"),
        ):
            _put_verified(where, where_bucket, key, body, kind, record_retain_until)
    for where, where_bucket, found, _tag in copies:
        for version in found:
            where.delete_version(where_bucket, version.key, version.version_id)
    return DestructionRecord(
        package_id=package_id,
        destroyed_at=now,
        objects=tuple(objects),
        notification=notification,
        seal=seal,
        record_key=record_key,
    )


SECONDARY_COPY_TAG = "copie-secondaire:"
"""Prefix, in a destruction record, of the object versions deleted from the second store."""


def _require_free(
    store: ObjectStore, bucket: str, versions: list[ObjectVersion], now: datetime
) -> None:
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


def _put_verified(
    store: ObjectStore, bucket: str, key: str, body: bytes, kind: str, retain_until: datetime
) -> None:
    digests = digest_bytes(body)
    version = store.put(
        bucket, key, io.BytesIO(body), digests, retain_until=retain_until, content_type=kind
    )
    if store.read_digest(bucket, key, version_id=version or None) != (
        digests.size,
        digests.sha512,
    ):
        raise StorageError(f"La relecture de {key} dans {bucket} a échoué : élimination arrêtée.")


def _read_small(store: ObjectStore, bucket: str, key: str, limit: int) -> bytes:
    with store.open(bucket, key) as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise ArchivingError(f"Objet {key} trop volumineux.")
    return data


def destruction_record_zip(store: ObjectStore, bucket: str, package_id: str) -> bytes:
    """The downloadable record: notification, its seal and the visa PDF, in one zip."""
    check_package_id(package_id)
    record_key, seal_key, visa_key = record_keys(package_id)
    if store.stat(bucket, record_key) is None:
        raise PackageNotFoundError(f"Aucun bordereau d'élimination pour {package_id}.")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(RECORD_NAME, _read_small(store, bucket, record_key, MAX_RECORD_BYTES))
        archive.writestr(SEAL_NAME, _read_small(store, bucket, seal_key, MAX_RECORD_BYTES))
        archive.writestr(VISA_NAME, _read_small(store, bucket, visa_key, MAX_VISA_BYTES))
    return buffer.getvalue()


@dataclass(frozen=True)
class DestructionCheck:
    """Offline verification of a downloaded destruction record."""

    valid: bool
    problems: tuple[str, ...]
    package_id: str | None = None
    signer: str | None = None
    timestamp: datetime | None = None
    objects: tuple[tuple[str, str], ...] = ()


_NS = "{" + SEDA_NS + "}"


def verify_destruction_record(data: bytes, seal_verifier: SealVerifier) -> DestructionCheck:
    """Check a downloaded record (zip) offline: SEDA schema, the seal and its timestamp over the
    notification, and the visa PDF against the digest the sealed notification names."""
    if len(data) > MAX_RECORD_BYTES:
        return DestructionCheck(False, ("Bordereau d'élimination trop volumineux.",))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = {info.filename: info for info in archive.infolist()}
            if set(names) != {RECORD_NAME, SEAL_NAME, VISA_NAME}:
                return DestructionCheck(False, ("Contenu inattendu dans le bordereau.",))
            if sum(info.file_size for info in names.values()) > MAX_RECORD_BYTES:
                return DestructionCheck(False, ("Bordereau d'élimination trop volumineux.",))
            notification = archive.read(RECORD_NAME)
            seal = archive.read(SEAL_NAME)
            visa = archive.read(VISA_NAME)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        return DestructionCheck(False, ("Fichier illisible : ce n'est pas un bordereau zip.",))
    problems: list[str] = []
    if validate_manifest(notification):
        return DestructionCheck(False, ("Notification non conforme au schéma SEDA 2.3.",))
    verdict = seal_verifier.verify(notification, seal)
    if not verdict.valid:
        problems.append("Sceau invalide : " + "; ".join(verdict.problems or ("refusé",)))
    if verdict.timestamp is None:
        problems.append("Sceau sans horodatage.")
    root = parse_manifest(notification)
    package_id = root.findtext(_NS + "UnitIdentifier")
    comments = [c.text or "" for c in root.iter(_NS + "Comment")]
    objects = tuple(
        (m.group(1), m.group(2)) for c in comments if (m := _OBJECT.match(c)) is not None
    )
    visa_digests = [m.group(1) for c in comments if (m := _VISA.match(c)) is not None]
    if not objects:
        problems.append("Aucun objet détruit n'est listé.")
    if len(visa_digests) != 1:
        problems.append("Visa d'élimination absent de la notification.")
    elif hashlib.sha512(visa).hexdigest() != visa_digests[0]:
        problems.append("Le bordereau visé ne correspond pas à l'empreinte scellée.")
    return DestructionCheck(
        not problems,
        tuple(problems),
        package_id=package_id,
        signer=verdict.signer,
        timestamp=verdict.timestamp,
        objects=objects,
    )
