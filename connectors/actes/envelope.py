"""Build the @ctes message, its envelope and the tar.gz archive a tiers de télétransmission takes.

Names and structure follow S²LOW (Libriciel's open-source tiers de télétransmission):
``DDD-SIREN-YYYYMMDD-NUMBER-NN-1-1_0.xml`` for the message ``actes:Acte``, the act and annexes
as ``<typologie>-DDD-SIREN-YYYYMMDD-NUMBER-NN-1-1_<n>.<ext>``, the envelope
``actes:EnveloppeCLMISILL`` as ``<APPL>--SIREN--YYYYMMDD-<serial>.xml`` and the archive as
``<op>-<envelope name>.tar.gz``.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import tarfile
from dataclasses import dataclass

from lxml import etree  # type: ignore[import-untyped]

from connectors.actes.model import ActesFile, ActesTransmission, sniff_kind, validate_transmission
from connectors.actes.xmlsafe import ACTES_NS, INSEE_NS, q
from connectors.errors import PermanentError

__all__ = ["ActesArchive", "build_archive", "build_message_xml", "file_base_name"]

XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = f"{ACTES_NS} actesv1_1.xsd"
NSMAP = {"actes": ACTES_NS, "insee": INSEE_NS, "xsi": XSI_NS}


@dataclass(frozen=True)
class ActesArchive:
    """A transmission packaged for the tiers de télétransmission."""

    filename: str
    """Archive name, ``<op>-<APPL>--SIREN--YYYYMMDD-<serial>.tar.gz``."""
    content: bytes
    """The tar.gz bytes (deterministic: same inputs, same bytes)."""
    envelope_name: str
    """Name of the envelope XML inside the archive."""
    message_name: str
    """Name of the ``actes:Acte`` message inside the archive."""
    member_names: tuple[str, ...]
    """Every file in the archive, envelope first."""
    act_unique_id: str
    """The id the prefecture will give the act (``DDD-SIREN-YYYYMMDD-NUMBER-NN``)."""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def file_base_name(transmission: ActesTransmission) -> str:
    """The stem shared by the message and its documents (message type 1-1: transmission)."""
    return f"{transmission.act_unique_id}-1-1"


def _document_names(t: ActesTransmission) -> list[tuple[str, ActesFile]]:
    base = file_base_name(t)
    named: list[tuple[str, ActesFile]] = []
    for index, file in enumerate((t.act, *t.annexes), start=1):
        default_type = t.nature.default_piece_type if index == 1 else "99_AU"
        extension = sniff_kind(file.content) or "pdf"
        named.append((f"{file.piece_type or default_type}-{base}_{index}.{extension}", file))
    return named


def build_message_xml(transmission: ActesTransmission) -> bytes:
    """The ``actes:Acte`` business message, ISO-8859-1."""
    t = transmission
    root = etree.Element(q("Acte"), nsmap=NSMAP)
    root.set(f"{{{XSI_NS}}}schemaLocation", SCHEMA_LOCATION)
    root.set(q("Date"), t.decision_date.isoformat())
    root.set(q("NumeroInterne"), t.number)
    root.set(q("CodeNatureActe"), str(int(t.nature)))
    for level, code in enumerate(t.matiere_levels, start=1):
        etree.SubElement(root, q(f"CodeMatiere{level}")).set(q("CodeMatiere"), code)
    etree.SubElement(root, q("Objet")).text = t.subject
    classification = t.classification_date or t.decision_date
    etree.SubElement(root, q("ClassificationDateVersion")).text = classification.isoformat()
    names = _document_names(t)
    document = etree.SubElement(root, q("Document"))
    etree.SubElement(document, q("NomFichier")).text = names[0][0]
    annexes = etree.SubElement(root, q("Annexes"))
    annexes.set(q("Nombre"), str(len(names) - 1))
    for name, _file in names[1:]:
        annex = etree.SubElement(annexes, q("Annexe"))
        etree.SubElement(annex, q("NomFichier")).text = name
    etree.SubElement(root, q("DocumentPapier")).text = "O" if t.paper_follows else "N"
    return _serialize(root)


def _build_envelope_xml(t: ActesTransmission, message_name: str) -> bytes:
    root = etree.Element(q("EnveloppeCLMISILL"), nsmap=NSMAP)
    root.set(f"{{{XSI_NS}}}schemaLocation", SCHEMA_LOCATION)
    emitter = etree.SubElement(root, q("Emetteur"))
    idcl = etree.SubElement(emitter, q("IDCL"))
    idcl.set(q("SIREN", INSEE_NS), t.siren)
    idcl.set(q("Departement"), t.department)
    idcl.set(q("Arrondissement"), t.district)
    idcl.set(q("Nature"), t.authority_nature)
    referent = etree.SubElement(emitter, q("Referent"))
    etree.SubElement(referent, q("Nom")).text = t.referent_name
    etree.SubElement(referent, q("Telephone")).text = t.referent_phone
    etree.SubElement(referent, q("Email")).text = t.referent_email
    returns = etree.SubElement(root, q("AdressesRetour"))
    emails = dict.fromkeys(e for e in (*t.return_emails, t.referent_email) if e)
    for email in emails:
        etree.SubElement(returns, q("Email")).text = email
    forms = etree.SubElement(root, q("FormulairesEnvoyes"))
    form = etree.SubElement(forms, q("Formulaire"))
    etree.SubElement(form, q("NomFichier")).text = message_name
    return _serialize(root)


def _serialize(root: etree._Element) -> bytes:
    return bytes(
        etree.tostring(root, xml_declaration=True, encoding="ISO-8859-1", pretty_print=True)
    )


def build_archive(
    transmission: ActesTransmission,
    *,
    serial: int = 1,
    submitted_on: dt.date | None = None,
    operator_code: str = "dmf",
    application_code: str = "TACT",
) -> ActesArchive:
    """Validate then package a transmission; raise PermanentError listing every finding.

    ``serial`` is the collectivité's envelope counter and ``submitted_on`` the day the
    envelope is made (the decision date by default, which keeps the bytes reproducible).
    ``operator_code``/``application_code`` are the tiers' trigramme and quadrigramme
    (``TACT`` is the test application code seen in S²LOW's tests).
    """
    report = validate_transmission(transmission)
    if not report.ok:
        raise PermanentError(
            f"La transmission de l'acte {transmission.number} est invalide : {report.summary()}.",
            action="Corriger les informations de l'acte puis relancer la transmission.",
            code="actes_invalid",
        )
    day = (submitted_on or transmission.decision_date).strftime("%Y%m%d")
    message_name = f"{file_base_name(transmission)}_0.xml"
    envelope_name = f"{application_code}--{transmission.siren}--{day}-{serial}.xml"
    members: list[tuple[str, bytes]] = [
        (envelope_name, _build_envelope_xml(transmission, message_name)),
        (message_name, build_message_xml(transmission)),
        *((name, file.content) for name, file in _document_names(transmission)),
    ]
    return ActesArchive(
        filename=f"{operator_code}-{envelope_name.removesuffix('.xml')}.tar.gz",
        content=_tar_gz(members),
        envelope_name=envelope_name,
        message_name=message_name,
        member_names=tuple(name for name, _ in members),
        act_unique_id=transmission.act_unique_id,
    )


def _tar_gz(members: list[tuple[str, bytes]]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, content in members:
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), compresslevel=9, mtime=0)
