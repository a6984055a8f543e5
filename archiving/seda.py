"""SEDA 2.3 manifests: the ``ArchiveTransfer`` of a package, validated offline against the XSDs."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import xmlschema
from lxml import etree  # type: ignore[import-untyped]

from archiving.digests import FileDigests
from archiving.errors import InvalidManifestError
from archiving.model import ActDescription, Agency, FileRole, Keyword, PackageFile, PackageSpec

__all__ = [
    "DIGEST_ALGORITHM",
    "SEDA_NS",
    "build_archive_transfer",
    "check_manifest",
    "element",
    "message_identifier",
    "organisation",
    "parse_manifest",
    "read_manifest_digests",
    "seda_schema",
    "validate_manifest",
]

SEDA_NS = "fr:gouv:culture:archivesdefrance:seda:v2.3"
DEMATFLOW_NS = "urn:dematflow:archiving:1"
DIGEST_ALGORITHM = "SHA-512"
MAX_MANIFEST_BYTES = 20 * 1024 * 1024
_SCHEMA_DIR = Path(__file__).resolve().parent / "schemas" / "seda-2.3"
_Q = "{" + SEDA_NS + "}"


@functools.cache
def seda_schema() -> Any:
    """The official SEDA 2.3 schema, loaded once, offline (xmlschema carries xml.xsd/xlink.xsd)."""
    bundled = Path(xmlschema.__file__).resolve().parent / "schemas"
    local = {
        "http://www.w3.org/2001/xml.xsd": (bundled / "XML" / "xml.xsd").as_uri(),
        "http://www.w3.org/1999/xlink.xsd": (bundled / "XLINK" / "xlink.xsd").as_uri(),
    }
    return xmlschema.XMLSchema(
        str(_SCHEMA_DIR / "seda-2.3-main.xsd"),
        allow="local",
        defuse="always",
        uri_mapper=local,
    )


def element(
    parent: etree._Element | None, tag: str, text: str | None = None, **attrs: str
) -> etree._Element:
    """A SEDA element (added to ``parent`` when given)."""
    node = (
        etree.Element(_Q + tag, nsmap={None: SEDA_NS})
        if parent is None
        else etree.SubElement(parent, _Q + tag)
    )
    for name, value in attrs.items():
        node.set(name, value)
    if text is not None:
        node.text = text
    return node


def organisation(parent: etree._Element, tag: str, agency: Agency) -> None:
    """An ``OrganizationWithIdType`` element with the agency's identifier and name."""
    node = element(parent, tag)
    element(node, "Identifier", agency.identifier)
    metadata = element(node, "OrganizationDescriptiveMetadata")
    # OpenType content must come from another namespace: the name goes in ours.
    name = etree.SubElement(metadata, "{" + DEMATFLOW_NS + "}Name", nsmap={"dm": DEMATFLOW_NS})
    name.text = agency.name


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _data_objects(
    package: etree._Element, spec: PackageSpec, digests: Mapping[str, FileDigests]
) -> None:
    for index, item in enumerate(spec.files, start=1):
        found = digests[item.bag_path]
        bdo = element(package, "BinaryDataObject", id=f"BDO-{index}")
        element(bdo, "DataObjectVersion", "BinaryMaster_1")
        element(bdo, "Uri", item.bag_path.removeprefix("data/"))
        element(bdo, "MessageDigest", found.sha512, algorithm=DIGEST_ALGORITHM)
        element(bdo, "Size", str(found.size))
        formats = element(bdo, "FormatIdentification")
        if item.format_name:
            element(formats, "FormatLitteral", item.format_name)
        element(formats, "MimeType", item.mime_type)
        if item.pronom_id:
            element(formats, "FormatId", item.pronom_id)
        element(element(bdo, "FileInfo"), "Filename", item.name)


def _keywords(spec: PackageSpec) -> list[Keyword]:
    """The keywords once each (same words, any case: the first one wins)."""
    seen: set[str] = set()
    unique = []
    for raw in spec.keywords:
        keyword = raw if isinstance(raw, Keyword) else Keyword(raw)
        key = " ".join(keyword.content.split()).casefold()
        if not key or key in seen:
            continue
        seen.add(key)
        unique.append(keyword)
    return unique


def _dt(day: date) -> str:
    return day.isoformat()


def _event(
    content: etree._Element,
    kind: str,
    when: str,
    *,
    identifier: str | None = None,
    code: str | None = None,
    detail: str | None = None,
) -> None:
    event = element(content, "Event")
    if identifier:
        element(event, "EventIdentifier", identifier)
    if code:
        element(event, "EventTypeCode", code)
    element(event, "EventType", kind)
    element(event, "EventDateTime", when)
    if detail:
        element(event, "EventDetail", detail)


def _act_events(content: etree._Element, act: ActDescription | None) -> None:
    if act is None:
        return
    if act.seance is not None:
        _event(
            content,
            "Séance du conseil",
            _dt(act.seance),
            code="seance",
            detail="Séance au cours de laquelle l'acte a été adopté.",
        )
    if act.ack_id and act.ack_date is not None:
        _event(
            content,
            "Accusé de réception de la préfecture (@ctes)",
            _dt(act.ack_date),
            identifier=act.ack_id,
            code="actes-ar",
            detail="Réception par la préfecture : point de départ du contrôle de légalité.",
        )


def _root_unit(parent: etree._Element, spec: PackageSpec) -> etree._Element:
    unit = element(parent, "ArchiveUnit", id="AU-ROOT")
    management = element(unit, "Management")
    appraisal = element(management, "AppraisalRule")
    element(appraisal, "Rule", spec.appraisal.rule_id)
    element(appraisal, "StartDate", spec.appraisal.start_date.isoformat())
    element(appraisal, "FinalAction", spec.appraisal.final_action.value)
    access = element(management, "AccessRule")
    element(access, "Rule", spec.access.rule_id)
    element(access, "StartDate", spec.access.start_date.isoformat())
    act = spec.act
    content = element(unit, "Content")
    element(content, "DescriptionLevel", "File")
    element(content, "Title", spec.title)
    if act is not None and act.matiere_code:
        element(content, "FilePlanPosition", act.matiere_code)
    if spec.actes_identifier:
        element(content, "OriginatingSystemId", spec.actes_identifier)
    element(content, "OriginatingAgencyArchiveUnitIdentifier", spec.package_id)
    description = _description(spec)
    if description:
        element(content, "Description", description)
    if act is not None:
        element(content, "DocumentType", act.document_type)
    for keyword in _keywords(spec):
        node = element(content, "Keyword")
        element(node, "KeywordContent", keyword.content)
        if keyword.reference:
            element(node, "KeywordReference", keyword.reference)
        element(node, "KeywordType", keyword.kind)
    originating = element(content, "OriginatingAgency")
    element(originating, "Identifier", spec.tenant.identifier)
    if act is not None and act.act_date is not None:
        element(content, "TransactedDate", _dt(act.act_date))
    if act is not None and act.ack_date is not None:
        element(content, "ReceivedDate", _dt(act.ack_date))
    start = spec.start_date or spec.closed_at.date()
    element(content, "StartDate", start.isoformat())
    element(content, "EndDate", spec.closed_at.date().isoformat())
    _act_events(content, act)
    return unit


def _description(spec: PackageSpec) -> str:
    """The act in one paragraph: nature, number, date, matière, AR, séance."""
    act = spec.act
    parts = [spec.description] if spec.description else []
    if act is None:
        return " ".join(parts)
    facts = [act.document_type]
    if act.number:
        facts.append(f"n° {act.number}")
    if act.act_date is not None:
        facts.append(f"du {act.act_date:%d/%m/%Y}")
    sentence = " ".join(facts)
    if act.subject:
        sentence += f" : {act.subject}"
    parts.append(sentence + ".")
    if act.nature:
        parts.append(f"Nature @ctes : {act.nature}.")
    if act.matiere_code:
        label = f" {act.matiere_label}" if act.matiere_label else ""
        parts.append(f"Matière @ctes : {act.matiere_code}{label}.")
    if act.seance is not None:
        parts.append(f"Adopté en séance du {act.seance:%d/%m/%Y}.")
    if act.ack_id:
        when = f" reçu le {act.ack_date:%d/%m/%Y}" if act.ack_date else ""
        parts.append(f"Accusé de réception de la préfecture {act.ack_id}{when}.")
    return " ".join(parts)


def _signing(content: etree._Element, item: PackageFile, object_id: str) -> None:
    """SEDA 2.3 ``SigningInformation``: the document is signed, by whom and when."""
    # SEDA requires the signing time: a signature without one is left to the validation report.
    signatures = [(s, s.signed_at) for s in item.signatories if s.signed_at is not None]
    if not signatures:
        return
    signing = element(content, "SigningInformation")
    element(signing, "SigningRole", "SignedDocument")
    element(signing, "SignedDocumentReferenceId", object_id)
    for signatory, signed_at in signatures:
        described = element(signing, "SignatureDescription")
        signer = element(described, "Signer")
        element(signer, "FullName", signatory.name)
        element(signer, "SigningTime", _iso(signed_at))
        if signatory.level:
            element(described, "SigningType", f"PAdES {signatory.level}")


def _item_unit(parent: etree._Element, item: PackageFile, index: int) -> None:
    unit = element(parent, "ArchiveUnit", id=f"AU-{index}")
    content = element(unit, "Content")
    element(content, "DescriptionLevel", "Item")
    element(content, "Title", item.title)
    element(content, "DocumentType", _DOCUMENT_TYPES[item.role])
    _signing(content, item, f"BDO-{index}")
    reference = element(unit, "DataObjectReference")
    element(reference, "DataObjectReferenceId", f"BDO-{index}")


_DOCUMENT_TYPES = {
    FileRole.DOCUMENT: "Document du dossier",
    FileRole.VALIDATION_REPORT: "Rapport de validation des signatures",
    FileRole.ACKNOWLEDGEMENT: "Accusé de réception de la préfecture",
    FileRole.JOURNAL: "Extrait du journal d'événements",
}


def message_identifier(spec: PackageSpec) -> str:
    """``SIP-<SIREN>-<package id>``: unique across tenants, whose case references may collide."""
    return f"SIP-{spec.tenant.identifier}-{spec.package_id}"


def build_archive_transfer(spec: PackageSpec, digests: Mapping[str, FileDigests]) -> bytes:
    """The ``ArchiveTransfer`` manifest of ``spec``, validated; ``digests`` maps bag paths.

    Raises :class:`InvalidManifestError` (listing every problem) when the result does not
    validate against the official XSDs: an invalid manifest never leaves this function.
    """
    root = element(None, "ArchiveTransfer")
    for comment in spec.comments:
        element(root, "Comment", comment)
    element(root, "Date", _iso(spec.closed_at))
    element(root, "MessageIdentifier", message_identifier(spec))
    if spec.archival_agreement:
        element(root, "ArchivalAgreement", spec.archival_agreement)
    code_lists = element(root, "CodeListVersions")
    for name, version in spec.code_lists:
        element(code_lists, name, version)
    package = element(root, "DataObjectPackage")
    _data_objects(package, spec, digests)
    descriptive = element(package, "DescriptiveMetadata")
    case_unit = _root_unit(descriptive, spec)
    for index, item in enumerate(spec.files, start=1):
        _item_unit(case_unit, item, index)
    management = element(package, "ManagementMetadata")
    element(management, "OriginatingAgencyIdentifier", spec.tenant.identifier)
    element(management, "SubmissionAgencyIdentifier", spec.tenant.identifier)
    organisation(root, "ArchivalAgency", spec.archival_agency)
    organisation(root, "TransferringAgency", spec.tenant)
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    check_manifest(data)
    return data


def parse_manifest(data: bytes) -> etree._Element:
    """Parse untrusted manifest XML safely (no entities, no network, bounded size)."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise InvalidManifestError("Le manifeste SEDA est trop volumineux.", ("taille",))
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False
    )
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        message = f"Le manifeste SEDA n'est pas du XML bien formé : {exc}"
        raise InvalidManifestError(message, (message,)) from exc


def validate_manifest(data: bytes) -> tuple[str, ...]:
    """Every XSD problem of a SEDA 2.3 document (empty when valid)."""
    try:
        root = parse_manifest(data)
    except InvalidManifestError as exc:
        return exc.problems
    problems = []
    for error in seda_schema().iter_errors(root):
        problems.append(f"{error.path or '/'} : {error.reason or error.message}")
    return tuple(problems)


def check_manifest(data: bytes) -> None:
    """Raise :class:`InvalidManifestError` unless ``data`` validates against SEDA 2.3."""
    problems = validate_manifest(data)
    if problems:
        raise InvalidManifestError(
            f"Le manifeste SEDA ne respecte pas le schéma SEDA 2.3 ({len(problems)} erreur(s)).",
            problems,
        )


def read_manifest_digests(data: bytes) -> dict[str, tuple[str, str, int | None]]:
    """``Uri`` of each ``BinaryDataObject`` -> (algorithm, digest, size) as the manifest says."""
    root = parse_manifest(data)
    found: dict[str, tuple[str, str, int | None]] = {}
    for bdo in root.iter(_Q + "BinaryDataObject"):
        uri = bdo.findtext(_Q + "Uri")
        digest = bdo.find(_Q + "MessageDigest")
        size = bdo.findtext(_Q + "Size")
        if uri is None or digest is None:
            continue
        found[uri] = (
            digest.get("algorithm", ""),
            (digest.text or "").strip().lower(),
            int(size) if size and size.isdigit() else None,
        )
    return found
