"""Read and check a received @ctes archive (what the prefecture side validates)."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import tarfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree  # type: ignore[import-untyped]

from connectors.actes.model import (
    DEPARTMENT_PATTERN,
    MATIERE_PATTERN,
    NUMBER_PATTERN,
    SIREN_PATTERN,
    SUBJECT_MAX_LENGTH,
    Finding,
    Nature,
)
from connectors.actes.xmlsafe import INSEE_NS, parse_untrusted_xml, q
from connectors.errors import PermanentError

__all__ = ["ArchiveInspection", "inspect_archive"]

MAX_MEMBERS = 200
MAX_ARCHIVE_SIZE = 200 * 1024 * 1024
MAX_UNPACKED_SIZE = 400 * 1024 * 1024


@dataclass(frozen=True)
class ArchiveInspection:
    """What a received archive says, and every problem found in it."""

    findings: tuple[Finding, ...]
    """Every problem; empty means the archive is acceptable."""
    siren: str = ""
    """Emitter SIREN (IDCL/@insee:SIREN)."""
    department: str = ""
    """Emitter department (IDCL/@Departement)."""
    number: str = ""
    """Act number (Acte/@NumeroInterne)."""
    decision_date: dt.date | None = None
    """Decision date (Acte/@Date)."""
    nature: Nature | None = None
    """Nature code (Acte/@CodeNatureActe)."""
    matiere: str = ""
    """Classification, levels joined with dots."""
    subject: str = ""
    """Objet of the act."""
    document_names: tuple[str, ...] = ()
    """The act then its annexes, as named in the message."""

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def act_unique_id(self) -> str:
        """``DDD-SIREN-YYYYMMDD-NUMBER-NN`` of an acceptable archive."""
        if not self.ok or self.nature is None or self.decision_date is None:
            raise ValueError("archive non conforme : pas d'identifiant d'acte")
        day = self.decision_date.strftime("%Y%m%d")
        return f"{self.department}-{self.siren}-{day}-{self.number}-{self.nature.abbreviation}"


def inspect_archive(
    data: bytes, *, known_matieres: frozenset[str] | None = None
) -> ArchiveInspection:
    """Unpack a tar.gz envelope safely and check it; never raises for bad content."""
    try:
        members = _unpack(data)
    except PermanentError as exc:
        return ArchiveInspection((Finding("archive", exc.message),))
    findings: list[Finding] = []

    def add(name: str, message: str) -> None:
        findings.append(Finding(name, message))

    try:
        return _inspect(members, known_matieres, findings, add)
    except PermanentError as exc:
        add("xml", exc.message)
        return ArchiveInspection(tuple(findings))


def _unpack(data: bytes) -> dict[str, bytes]:
    if len(data) > MAX_ARCHIVE_SIZE:
        raise PermanentError("archive trop volumineuse.")
    try:
        raw = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise PermanentError("l'archive n'est pas un fichier tar.gz.") from exc
    if len(raw) > MAX_UNPACKED_SIZE:
        raise PermanentError("archive trop volumineuse une fois décompressée.")
    members: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
            for info in tar:
                _check_member(info, members)
                extracted = tar.extractfile(info)
                if extracted is None:  # pragma: no cover - regular files always extract
                    raise PermanentError(f"fichier illisible : {info.name}.")
                members[info.name] = extracted.read()
    except tarfile.TarError as exc:
        raise PermanentError("l'archive n'est pas un fichier tar.gz.") from exc
    return members


def _check_member(info: tarfile.TarInfo, members: dict[str, bytes]) -> None:
    if len(members) >= MAX_MEMBERS:
        raise PermanentError(f"l'archive contient plus de {MAX_MEMBERS} fichiers.")
    if not info.isreg():
        raise PermanentError(f"« {info.name} » n'est pas un fichier ordinaire.")
    if "/" in info.name or "\\" in info.name or info.name.startswith("."):
        raise PermanentError(f"chemin interdit dans l'archive : « {info.name} ».")
    if info.name in members:
        raise PermanentError(f"fichier en double dans l'archive : « {info.name} ».")


def _inspect(
    members: dict[str, bytes],
    known: frozenset[str] | None,
    findings: list[Finding],
    add: Callable[[str, str], None],
) -> ArchiveInspection:
    envelopes = [n for n in members if "--" in n and n.endswith(".xml")]
    if len(envelopes) != 1:
        add("enveloppe", "l'archive doit contenir exactement une enveloppe (APPL--SIREN--...xml).")
        return ArchiveInspection(tuple(findings))
    envelope = parse_untrusted_xml(members[envelopes[0]], what=envelopes[0])
    if envelope.tag != q("EnveloppeCLMISILL"):
        add("enveloppe", f"élément racine inattendu : {envelope.tag}.")
        return ArchiveInspection(tuple(findings))
    idcl = envelope.find(f"{q('Emetteur')}/{q('IDCL')}")
    siren = "" if idcl is None else idcl.get(q("SIREN", INSEE_NS), "")
    department = "" if idcl is None else idcl.get(q("Departement"), "")
    if not SIREN_PATTERN.fullmatch(siren):
        add("siren", "SIREN de l'émetteur absent ou invalide.")
    if not DEPARTMENT_PATTERN.fullmatch(department):
        add("department", "département de l'émetteur absent ou invalide.")
    names = [e.text or "" for e in envelope.iter(q("NomFichier"))]
    if len(names) != 1 or names[0] not in members:
        add("enveloppe", "l'enveloppe doit désigner un message présent dans l'archive.")
        return ArchiveInspection(tuple(findings), siren=siren, department=department)
    message = parse_untrusted_xml(members[names[0]], what=names[0])
    return _inspect_message(message, members, known, findings, add, siren, department)


def _inspect_message(
    acte: etree._Element,
    members: dict[str, bytes],
    known: frozenset[str] | None,
    findings: list[Finding],
    add: Callable[[str, str], None],
    siren: str,
    department: str,
) -> ArchiveInspection:
    if acte.tag != q("Acte"):
        add("message", f"message inattendu : {acte.tag} (actes:Acte attendu).")
        return ArchiveInspection(tuple(findings), siren=siren, department=department)
    number = acte.get(q("NumeroInterne"), "")
    if not NUMBER_PATTERN.fullmatch(number):
        add("number", f"numéro d'acte invalide : « {number} ».")
    decision_date = _parse_date(acte.get(q("Date"), ""))
    if decision_date is None:
        add("decision_date", "date de décision absente ou invalide.")
    nature = _parse_nature(acte.get(q("CodeNatureActe"), ""))
    if nature is None:
        add("nature", "code nature absent ou hors de 1 à 6.")
    levels = [
        (e.get(q("CodeMatiere")) or "")
        for i in range(1, 6)
        if (e := acte.find(q(f"CodeMatiere{i}"))) is not None
    ]
    matiere = ".".join(levels)
    if not MATIERE_PATTERN.fullmatch(matiere):
        add("matiere", f"classification matière invalide : « {matiere} ».")
    elif known is not None and matiere not in known:
        add("matiere", f"la matière {matiere} est inconnue de la préfecture.")
    subject = acte.findtext(q("Objet")) or ""
    if not 1 <= len(subject.strip()) <= SUBJECT_MAX_LENGTH:
        add("subject", f"l'objet doit compter 1 à {SUBJECT_MAX_LENGTH} caractères.")
    documents = _document_names(acte, members, add)
    return ArchiveInspection(
        tuple(findings),
        siren=siren,
        department=department,
        number=number,
        decision_date=decision_date,
        nature=nature,
        matiere=matiere,
        subject=subject,
        document_names=documents,
    )


def _document_names(
    acte: etree._Element, members: dict[str, bytes], add: Callable[[str, str], None]
) -> tuple[str, ...]:
    act_name = acte.findtext(f"{q('Document')}/{q('NomFichier')}") or ""
    if not act_name or act_name not in members:
        add("act", f"fichier de l'acte absent de l'archive : « {act_name} ».")
    elif not members[act_name].startswith(b"%PDF-"):
        add("act", "le fichier de l'acte n'est pas un PDF.")
    annexes = acte.find(q("Annexes"))
    names = [] if annexes is None else [e.text or "" for e in annexes.iter(q("NomFichier"))]
    declared = "0" if annexes is None else annexes.get(q("Nombre"), "")
    if declared != str(len(names)):
        add("annexes", f"nombre d'annexes déclaré ({declared}) différent du nombre listé.")
    for name in names:
        if name not in members:
            add("annexes", f"annexe absente de l'archive : « {name} ».")
    return (act_name, *names)


def _parse_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _parse_nature(text: str) -> Nature | None:
    try:
        return Nature(int(text))
    except ValueError:
        return None
