"""SEDA 2.3 messages between the tenant and its SAE: the replies read safely, the request built."""

from __future__ import annotations

from datetime import UTC

from lxml import etree  # type: ignore[import-untyped]

from connectors.actes.xmlsafe import untrusted_parser
from connectors.errors import PermanentError, RetryableError
from connectors.sae.model import Accepted, EliminationRequest, Outcome, Pending, Rejected

__all__ = [
    "ACCEPTED_CODES",
    "SEDA_NS",
    "build_elimination_request",
    "parse_acknowledgement",
    "parse_elimination_reply",
    "parse_sae_xml",
    "parse_transfer_reply",
]

SEDA_NS = "fr:gouv:culture:archivesdefrance:seda:v2.3"
_Q = "{" + SEDA_NS + "}"
NAME_NS = "urn:dematflow:archiving:1"
ACCEPTED_CODES = frozenset({"OK", "WARNING", "000"})
"""Vitam accepts with ``OK`` or ``WARNING``; As@lae with ``000``. Anything else is a refusal."""
MAX_REASONS = 50
MAX_REASON_CHARS = 1000
MAX_IDS = 10_000


def parse_sae_xml(data: bytes, *, what: str, limit: int) -> etree._Element:
    """Parse a reply of the SAE: bounded, no DTD, no entities, no network."""
    if len(data) > limit:
        raise PermanentError(
            f"La réponse du SAE ({what}) est trop volumineuse ({len(data)} octets, "
            f"{limit} au plus).",
            action="Signaler l'anomalie au service d'archives ; rien n'a été enregistré.",
            code="sae_reply_too_large",
        )
    parser = untrusted_parser()
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise RetryableError(
            f"Réponse illisible du SAE ({what}) : {exc}.",
            action="La consultation sera relancée ; si cela persiste, contacter le service "
            "d'archives.",
            code="sae_malformed_reply",
        ) from exc
    if root.getroottree().docinfo.doctype:
        raise PermanentError(
            f"La réponse du SAE ({what}) contient une DTD, refusée par sécurité.",
            action="Signaler l'anomalie au service d'archives.",
            code="sae_reply_doctype",
        )
    return root


def _text(node: etree._Element | None) -> str:
    return " ".join((node.text or "").split()) if node is not None else ""


def _expect(root: etree._Element, name: str, what: str) -> None:
    if root.tag != _Q + name:
        raise PermanentError(
            f"Le SAE a répondu par un message « {etree.QName(root).localname} » au lieu de "
            f"« {name} » ({what}).",
            action="Signaler l'anomalie au service d'archives.",
            code="sae_unexpected_message",
        )


def _check_refers_to(root: etree._Element, message_identifier: str, field: str) -> None:
    found = _text(root.find(_Q + field))
    if found != message_identifier:
        raise PermanentError(
            f"La réponse du SAE concerne le message « {found[:200]} », pas « "
            f"{message_identifier} ».",
            action="Signaler l'anomalie au service d'archives ; la réponse est ignorée.",
            code="sae_reply_mismatch",
        )


def _reasons(root: etree._Element) -> tuple[str, ...]:
    found: list[str] = []
    for event in root.iter(_Q + "Event"):
        outcome = _text(event.find(_Q + "Outcome")).upper()
        if outcome in {"OK", "STARTED", ""}:
            continue
        detail = _text(event.find(_Q + "OutcomeDetailMessage")) or _text(
            event.find(_Q + "EventDetail")
        )
        if not detail:
            continue
        label = _text(event.find(_Q + "EventType")) or _text(event.find(_Q + "EventTypeCode"))
        text = f"{label} : {detail}" if label else detail
        if text not in found:
            found.append(text[:MAX_REASON_CHARS])
    for comment in root.findall(_Q + "Comment"):
        if (text := _text(comment)) and text not in found:
            found.append(text[:MAX_REASON_CHARS])
    return tuple(found[:MAX_REASONS])


def _unit_ids(root: etree._Element) -> tuple[str, ...]:
    ids: list[str] = []
    for name in ("SystemId", "ArchivalAgencyArchiveUnitIdentifier"):
        for node in root.iter(_Q + name):
            if (text := _text(node)) and text not in ids:
                ids.append(text[:200])
        if ids:
            break
    return tuple(ids[:MAX_IDS])


def parse_transfer_reply(data: bytes, *, message_identifier: str, limit: int) -> Outcome:
    """Read an ``ArchiveTransferReply``: accepted with the SAE's unit identifiers, or rejected
    with its reasons. A reply about another message is refused (:class:`PermanentError`)."""
    root = parse_sae_xml(data, what="réponse au transfert", limit=limit)
    _expect(root, "ArchiveTransferReply", "réponse au transfert")
    _check_refers_to(root, message_identifier, "MessageRequestIdentifier")
    code = _text(root.find(_Q + "ReplyCode")).upper() or "?"
    reply_id = _text(root.find(_Q + "MessageIdentifier"))
    reasons = _reasons(root)
    if code in ACCEPTED_CODES:
        ids = _unit_ids(root)
        if not ids:
            raise PermanentError(
                "Le SAE a accepté le transfert sans donner l'identifiant des archives.",
                action="Demander au service d'archives la cote attribuée, puis relancer.",
                code="sae_reply_without_ids",
            )
        return Accepted(ids, code, reply_id, " ; ".join(reasons))
    return Rejected(reasons or ("Refus sans motif détaillé.",), code, reply_id)


def parse_acknowledgement(data: bytes, *, message_identifier: str, limit: int) -> Pending:
    """Read an ``Acknowledgement`` of the message: received, not yet processed."""
    root = parse_sae_xml(data, what="accusé de réception", limit=limit)
    _expect(root, "Acknowledgement", "accusé de réception")
    _check_refers_to(root, message_identifier, "MessageReceivedIdentifier")
    return Pending("accusé de réception reçu, en cours de traitement")


def parse_elimination_reply(data: bytes, *, message_identifier: str, limit: int) -> Outcome:
    """Read the SAE's answer to an elimination request: an ``ArchiveDestructionNotification``
    (done: the eliminated units) or an ``AuthorizationOriginatingAgencyRequestReply`` whose
    code is a refusal (with its reasons)."""
    root = parse_sae_xml(data, what="réponse à la demande d'élimination", limit=limit)
    reply_id = _text(root.find(_Q + "MessageIdentifier"))
    if root.tag == _Q + "ArchiveDestructionNotification":
        _check_refers_to(root, message_identifier, "AuthorizationRequestReplyIdentifier")
        units = tuple(_text(n) for n in root.findall(_Q + "UnitIdentifier"))[:MAX_IDS]
        return Accepted(units, "000", reply_id)
    _expect(root, "AuthorizationOriginatingAgencyRequestReply", "demande d'élimination")
    _check_refers_to(root, message_identifier, "MessageRequestIdentifier")
    code = _text(root.find(_Q + "ReplyCode")).upper() or "?"
    if code in ACCEPTED_CODES:
        return Pending("élimination autorisée, en cours")
    return Rejected(_reasons(root) or ("Refus sans motif détaillé.",), code, reply_id)


def _el(parent: etree._Element | None, tag: str, text: str | None = None) -> etree._Element:
    node = etree.Element(_Q + tag) if parent is None else etree.SubElement(parent, _Q + tag)
    if text is not None:
        node.text = text
    return node


def _organisation(parent: etree._Element, tag: str, identifier: str, name: str = "") -> None:
    org = _el(parent, tag)
    _el(org, "Identifier", identifier)
    if name:
        # OrganizationDescriptiveMetadata is open content from another namespace.
        metadata = _el(org, "OrganizationDescriptiveMetadata")
        node = etree.SubElement(metadata, "{" + NAME_NS + "}Name", nsmap={"dm": NAME_NS})
        node.text = name


def build_elimination_request(request: EliminationRequest) -> bytes:
    """The SEDA 2.3 message asking the SAE to eliminate units at the end of their DUA.

    SEDA 2.3 has no destruction request sent by the producer: its elimination dialogue is an
    authorisation request (``AuthorizationOriginatingAgencyRequest``) answered by a
    destruction notification. The tenant sends that request itself, its own identifier as
    ``Requester`` and ``OriginatingAgency``, which is the convention the simulator follows.
    """
    if not request.unit_ids:
        raise ValueError("au moins une unité d'archives à éliminer")
    root = etree.Element(_Q + "AuthorizationOriginatingAgencyRequest", nsmap={None: SEDA_NS})
    _el(root, "Comment", request.reason[:2000] or "Élimination en fin de DUA")
    moment = request.requested_at.astimezone(UTC).replace(microsecond=0)
    _el(root, "Date", moment.isoformat().replace("+00:00", "Z"))
    _el(root, "MessageIdentifier", request.message_identifier)
    _el(root, "CodeListVersions")
    content = _el(root, "AuthorizationRequestContent")
    _el(content, "AuthorizationReason", "Élimination en fin de durée d'utilité administrative")
    _el(content, "RequestDate", moment.date().isoformat())
    for unit in request.unit_ids:
        _el(content, "UnitIdentifier", unit)
    _organisation(content, "Requester", request.requester, request.requester_name)
    _organisation(root, "ArchivalAgency", request.archival_agency)
    _organisation(root, "OriginatingAgency", request.requester, request.requester_name)
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return data
