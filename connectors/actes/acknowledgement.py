"""Acknowledgements (ARActe) and later prefecture exchanges (2A to 5A): build and parse."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from lxml import etree  # type: ignore[import-untyped]

from connectors.actes.xmlsafe import ACTES_NS, INSEE_NS, parse_untrusted_xml, q
from connectors.errors import AcknowledgementConflictError, PermanentError

__all__ = [
    "Acknowledgement",
    "ExchangeKind",
    "build_acknowledgement_xml",
    "build_exchange_xml",
    "parse_acknowledgement",
    "reconcile_acknowledgement",
]

NSMAP = {"actes": ACTES_NS, "insee": INSEE_NS}


class ExchangeKind(enum.StrEnum):
    """Messages the prefecture may send after the acknowledgement."""

    COURRIER_SIMPLE = "2A"
    DEMANDE_PIECES_COMPLEMENTAIRES = "3A"
    LETTRE_OBSERVATIONS = "4A"
    DEFERE_TRIBUNAL_ADMINISTRATIF = "5A"

    @property
    def label(self) -> str:
        return _EXCHANGE_LABELS[self]

    @property
    def root_element(self) -> str:
        """Root element of the message (names approximated, see the module docstring)."""
        return _EXCHANGE_ROOTS[self]


_EXCHANGE_LABELS = {
    ExchangeKind.COURRIER_SIMPLE: "Courrier simple",
    ExchangeKind.DEMANDE_PIECES_COMPLEMENTAIRES: "Demande de pièces complémentaires",
    ExchangeKind.LETTRE_OBSERVATIONS: "Lettre d'observations",
    ExchangeKind.DEFERE_TRIBUNAL_ADMINISTRATIF: "Déféré au tribunal administratif",
}
_EXCHANGE_ROOTS = {
    ExchangeKind.COURRIER_SIMPLE: "CourrierSimple",
    ExchangeKind.DEMANDE_PIECES_COMPLEMENTAIRES: "DemandePieceComplementaire",
    ExchangeKind.LETTRE_OBSERVATIONS: "LettreObservations",
    ExchangeKind.DEFERE_TRIBUNAL_ADMINISTRATIF: "DefereTA",
}


@dataclass(frozen=True)
class Acknowledgement:
    """The prefecture's accusé de réception of one act."""

    act_unique_id: str
    """``DDD-SIREN-YYYYMMDD-NUMBER-NN``."""
    received_on: dt.date
    """Reception date: it starts the two-month legality control window."""
    xml: bytes
    """The ARActe document as received, to be archived with the act."""


def build_acknowledgement_xml(
    *, act_unique_id: str, received_on: dt.date, message_xml: bytes
) -> bytes:
    """An ``actes:ARActe`` quoting the received message as ``actes:ActeRecu`` (S²LOW's shape)."""
    root = etree.Element(q("ARActe"), nsmap=NSMAP)
    root.set(q("IDActe"), act_unique_id)
    root.set(q("DateReception"), received_on.isoformat())
    acte = parse_untrusted_xml(message_xml, what="message")
    received = etree.SubElement(root, q("ActeRecu"))
    for name, value in acte.attrib.items():
        if str(name).startswith(f"{{{ACTES_NS}}}"):
            received.set(name, value)
    for child in acte:
        received.append(child)
    return bytes(
        etree.tostring(root, xml_declaration=True, encoding="ISO-8859-1", pretty_print=True)
    )


def parse_acknowledgement(xml: bytes) -> Acknowledgement:
    """Read an ARActe; a malformed one is a PermanentError (never a silent success)."""
    root = parse_untrusted_xml(xml, what="accusé de réception")
    act_id = root.get(q("IDActe"), "")
    try:
        received_on = dt.date.fromisoformat(root.get(q("DateReception"), ""))
    except ValueError:
        received_on = None
    if root.tag != q("ARActe") or not act_id or received_on is None:
        raise PermanentError(
            "L'accusé de réception reçu est incomplet (identifiant ou date de réception absents).",
            action="Ne pas considérer l'acte comme transmis ; interroger à nouveau le tiers "
            "de télétransmission puis contacter son support si le problème persiste.",
            code="actes_malformed_ack",
        )
    return Acknowledgement(act_unique_id=act_id, received_on=received_on, xml=xml)


def reconcile_acknowledgement(
    received: Acknowledgement, *, expected_act_id: str, known: Acknowledgement | None = None
) -> Acknowledgement:
    """Check an AR against the act sent and the AR already recorded (duplicates are harmless).

    Returns the acknowledgement to keep: ``known`` when the same AR comes again.
    """
    if received.act_unique_id != expected_act_id:
        raise AcknowledgementConflictError(
            f"L'accusé de réception concerne l'acte {received.act_unique_id} et non "
            f"l'acte transmis {expected_act_id}.",
            action="Ne pas enregistrer cet accusé ; signaler l'anomalie au tiers de "
            "télétransmission.",
        )
    if known is None:
        return received
    if (known.act_unique_id, known.received_on) != (received.act_unique_id, received.received_on):
        raise AcknowledgementConflictError(
            f"Un second accusé de réception différent a été reçu pour l'acte {expected_act_id} "
            f"(reçu le {received.received_on:%d/%m/%Y}, déjà enregistré le "
            f"{known.received_on:%d/%m/%Y}).",
            action="Garder le premier accusé enregistré et signaler l'anomalie au tiers de "
            "télétransmission.",
        )
    return known


def build_exchange_xml(
    kind: ExchangeKind, *, act_unique_id: str, sent_on: dt.date, text: str, document_name: str
) -> bytes:
    """A prefecture message about an act (courrier, pièces, observations, déféré)."""
    root = etree.Element(q(kind.root_element), nsmap=NSMAP)
    root.set(q("IDActe"), act_unique_id)
    root.set(q("DateCourrierPref"), sent_on.isoformat())
    etree.SubElement(root, q("Motif")).text = text
    document = etree.SubElement(root, q("Document"))
    etree.SubElement(document, q("NomFichier")).text = document_name
    return bytes(
        etree.tostring(root, xml_declaration=True, encoding="ISO-8859-1", pretty_print=True)
    )
