"""The SAE simulator's side of SEDA 2.3: checking what it receives, building what it answers."""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree  # type: ignore[import-untyped]

from archiving.errors import InvalidManifestError
from archiving.seda import (
    SEDA_NS,
    element,
    parse_manifest,
    read_manifest_digests,
    validate_manifest,
)

__all__ = [
    "Checked",
    "acknowledgement",
    "check_transfer",
    "destruction_notification",
    "elimination_refusal",
    "read_elimination_request",
    "transfer_reply",
]

_Q = "{" + SEDA_NS + "}"
MAX_OBJECTS = 10_000
MAX_UNZIPPED = 512 * 1024 * 1024


@dataclass(frozen=True)
class Checked:
    """What the simulator found in a transfer."""

    message_identifier: str
    sender: str
    archival_agency: str
    unit_ids: tuple[str, ...]
    """The manifest's ArchiveUnit ids (the SAE gives each a system id)."""
    problems: tuple[str, ...]
    """XSD, digest and completeness problems: any of them rejects the transfer."""


def _text(root: etree._Element, path: str) -> str:
    found = root.find(path, {"s": SEDA_NS})
    return (found.text or "").strip() if found is not None else ""


def _objects(attachments: zipfile.ZipFile) -> dict[str, bytes]:
    infos = attachments.infolist()
    if len(infos) > MAX_OBJECTS or sum(i.file_size for i in infos) > MAX_UNZIPPED:
        raise ValueError("archive trop volumineuse")
    return {i.filename: attachments.read(i) for i in infos if not i.is_dir()}


def unzip(data: bytes) -> dict[str, bytes]:
    """The entries of a zip (bounded); ValueError when it is not one."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return _objects(archive)
    except zipfile.BadZipFile as exc:
        raise ValueError(f"archive zip illisible : {exc}") from exc


def check_transfer(manifest: bytes, objects: dict[str, bytes]) -> Checked:
    """Validate an ``ArchiveTransfer`` against the official XSDs, then its objects' digests."""
    try:
        root = parse_manifest(manifest)
    except InvalidManifestError as exc:
        return Checked("", "", "", (), exc.problems)
    problems = list(validate_manifest(manifest))
    if root.tag != _Q + "ArchiveTransfer":
        problems.append(f"message « {etree.QName(root).localname} » au lieu d'ArchiveTransfer")
    if not problems:
        for uri, (algorithm, digest, size) in read_manifest_digests(manifest).items():
            data = objects.get(uri)
            if data is None:
                problems.append(f"objet absent du versement : {uri}")
            elif algorithm != "SHA-512" or hashlib.sha512(data).hexdigest() != digest:
                problems.append(f"empreinte incorrecte : {uri}")
            elif size is not None and size != len(data):
                problems.append(f"taille incorrecte : {uri}")
    units = tuple(unit.get("id", "") for unit in root.iter(_Q + "ArchiveUnit") if unit.get("id"))
    return Checked(
        _text(root, "s:MessageIdentifier"),
        _text(root, "s:TransferringAgency/s:Identifier"),
        _text(root, "s:ArchivalAgency/s:Identifier"),
        units,
        tuple(problems[:50]),
    )


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _org(parent: etree._Element, tag: str, identifier: str) -> None:
    org = element(parent, tag)
    element(org, "Identifier", identifier or "inconnu")


def _serialise(root: etree._Element) -> bytes:
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return data


def transfer_reply(
    checked: Checked,
    *,
    reply_id: str,
    code: str,
    system_ids: dict[str, str],
    reasons: tuple[str, ...] = (),
) -> bytes:
    """An ``ArchiveTransferReply``: the system id of each unit when accepted, the reasons as
    KO events when rejected."""
    root = element(None, "ArchiveTransferReply")
    element(root, "Date", _now())
    element(root, "MessageIdentifier", reply_id)
    element(root, "CodeListVersions")
    if system_ids:
        package = element(root, "DataObjectPackage")
        descriptive = element(package, "DescriptiveMetadata")
        for unit_id, system_id in system_ids.items():
            unit = element(descriptive, "ArchiveUnit", id=unit_id)
            content = element(unit, "Content")
            element(content, "SystemId", system_id)
        element(package, "ManagementMetadata")
    element(root, "ReplyCode", code)
    operation = element(root, "Operation")
    event = element(operation, "Event")
    element(event, "EventType", "Versement")
    element(event, "EventDateTime", _now())
    element(event, "Outcome", "KO" if reasons and not system_ids else "OK")
    for reason in reasons:
        detail = element(operation, "Event")
        element(detail, "EventType", "Contrôle du versement")
        element(detail, "EventDateTime", _now())
        element(detail, "Outcome", "KO")
        element(detail, "OutcomeDetailMessage", " ".join(reason.split())[:900] or "KO")
    element(root, "MessageRequestIdentifier", checked.message_identifier or "inconnu")
    if system_ids:
        element(root, "GrantDate", _now())
    _org(root, "ArchivalAgency", checked.archival_agency)
    _org(root, "TransferringAgency", checked.sender)
    return _serialise(root)


def acknowledgement(message_identifier: str, sender: str, receiver: str, ack_id: str) -> bytes:
    """An ``Acknowledgement`` of a received message."""
    root = element(None, "Acknowledgement")
    element(root, "Date", _now())
    element(root, "MessageIdentifier", ack_id)
    element(root, "MessageReceivedIdentifier", message_identifier)
    _org(root, "Sender", receiver)
    _org(root, "Receiver", sender)
    return _serialise(root)


@dataclass(frozen=True)
class EliminationAsked:
    message_identifier: str
    requester: str
    archival_agency: str
    unit_ids: tuple[str, ...]
    problems: tuple[str, ...]


def read_elimination_request(message: bytes) -> EliminationAsked:
    """The units and requester of an ``AuthorizationOriginatingAgencyRequest``, XSD-checked."""
    try:
        root = parse_manifest(message)
    except InvalidManifestError as exc:
        return EliminationAsked("", "", "", (), exc.problems)
    problems = list(validate_manifest(message))
    units = tuple(
        (n.text or "").strip()
        for n in root.iterfind("s:AuthorizationRequestContent/s:UnitIdentifier", {"s": SEDA_NS})
    )
    return EliminationAsked(
        _text(root, "s:MessageIdentifier"),
        _text(root, "s:OriginatingAgency/s:Identifier"),
        _text(root, "s:ArchivalAgency/s:Identifier"),
        units,
        tuple(problems[:50]),
    )


def destruction_notification(asked: EliminationAsked, notification_id: str) -> bytes:
    """An ``ArchiveDestructionNotification``: the units are eliminated."""
    root = element(None, "ArchiveDestructionNotification")
    element(root, "Date", _now())
    element(root, "MessageIdentifier", notification_id)
    element(root, "CodeListVersions")
    element(root, "AuthorizationRequestReplyIdentifier", asked.message_identifier)
    for unit in asked.unit_ids:
        element(root, "UnitIdentifier", unit)
    _org(root, "ArchivalAgency", asked.archival_agency)
    _org(root, "OriginatingAgency", asked.requester)
    return _serialise(root)


def elimination_refusal(asked: EliminationAsked, reply_id: str, reasons: tuple[str, ...]) -> bytes:
    """An ``AuthorizationOriginatingAgencyRequestReply`` refusing the elimination."""
    root = element(None, "AuthorizationOriginatingAgencyRequestReply")
    element(root, "Date", _now())
    element(root, "MessageIdentifier", reply_id)
    element(root, "CodeListVersions")
    element(root, "ReplyCode", "300")
    operation = element(root, "Operation")
    for reason in reasons or ("Élimination refusée",):
        event = element(operation, "Event")
        element(event, "EventType", "Contrôle de la demande d'élimination")
        element(event, "EventDateTime", _now())
        element(event, "Outcome", "KO")
        element(event, "OutcomeDetailMessage", " ".join(reason.split())[:900])
    element(root, "MessageRequestIdentifier", asked.message_identifier or "inconnu")
    _org(root, "ArchivalAgency", asked.archival_agency)
    _org(root, "OriginatingAgency", asked.requester)
    return _serialise(root)
