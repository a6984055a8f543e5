"""Safe parsing of XML that came from the network or from an archive."""

from __future__ import annotations

from lxml import etree  # type: ignore[import-untyped]

from connectors.errors import PermanentError

__all__ = ["ACTES_NS", "INSEE_NS", "parse_untrusted_xml", "q", "untrusted_parser"]

ACTES_NS = "http://www.interieur.gouv.fr/ACTES#v1.1-20040216"
INSEE_NS = "http://xml.insee.fr/schema"
MAX_XML_SIZE = 2 * 1024 * 1024


def q(name: str, ns: str = ACTES_NS) -> str:
    """Clark notation of a name in the @ctes namespace."""
    return f"{{{ns}}}{name}"


def untrusted_parser() -> etree.XMLParser:
    """An lxml parser for XML from outside: no entities, no DTD, no network, no huge trees."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_pis=True,
    )


def parse_untrusted_xml(data: bytes, *, what: str) -> etree._Element:
    """Parse XML without entities, DTDs or network, refusing oversized or DOCTYPE'd input."""
    if len(data) > MAX_XML_SIZE:
        raise PermanentError(
            f"Le document XML « {what} » est trop volumineux ({len(data)} octets).",
            action="Vérifier l'émetteur du document.",
        )
    parser = untrusted_parser()
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise PermanentError(
            f"Le document XML « {what} » est mal formé : {exc}.",
            action="Le tiers de télétransmission a renvoyé une réponse illisible : réessayer "
            "plus tard, puis contacter son support si le problème persiste.",
        ) from exc
    if root.getroottree().docinfo.doctype:
        raise PermanentError(
            f"Le document XML « {what} » contient une DTD, refusée par sécurité.",
            action="Vérifier l'émetteur du document.",
        )
    return root
