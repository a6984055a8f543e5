"""Inputs and validation of an @ctes transmission (nature, matière, number, subject, files)."""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "MATIERE_FAMILIES",
    "NUMBER_PATTERN",
    "SUBJECT_MAX_LENGTH",
    "ActesFile",
    "ActesTransmission",
    "Finding",
    "Nature",
    "ValidationReport",
    "validate_transmission",
]

NUMBER_PATTERN = re.compile(r"^[0-9A-Z_]{1,15}$")
"""Act number rule: unique per collectivité and year (DOMAIN.md)."""
SUBJECT_MAX_LENGTH = 499
SIREN_PATTERN = re.compile(r"^[0-9]{9}$")
DEPARTMENT_PATTERN = re.compile(r"^(?:[0-9]{3}|02[AB])$")
MATIERE_PATTERN = re.compile(r"^[1-9](?:\.[1-9][0-9]?){0,4}$")
FILE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
PIECE_TYPE_PATTERN = re.compile(r"^[0-9]{2}_[A-Z]{2}$")
MAX_FILE_SIZE = 150 * 1024 * 1024

_Add = Callable[[str, str], None]

MATIERE_FAMILIES: dict[str, str] = {
    "1": "Commande publique",
    "2": "Urbanisme",
    "3": "Domaine et patrimoine",
    "4": "Fonction publique",
    "5": "Institutions et vie politique",
    "6": "Libertés publiques et pouvoirs de police",
    "7": "Finances locales",
    "8": "Domaines de compétences par thèmes",
    "9": "Autres domaines de compétences",
}
"""The nine first-level families; deeper levels are each prefecture's own (its classification)."""


class Nature(enum.IntEnum):
    """@ctes nature code (CodeNatureActe)."""

    DELIBERATION = 1
    ACTE_REGLEMENTAIRE = 2
    ACTE_INDIVIDUEL = 3
    CONTRAT = 4
    BUDGETAIRE = 5
    AUTRE = 6

    @property
    def abbreviation(self) -> str:
        """The two letters used in the act's unique id and in file names."""
        return _ABBREVIATIONS[self]

    @property
    def label(self) -> str:
        """The French label shown to agents."""
        return _LABELS[self]

    @property
    def default_piece_type(self) -> str:
        """Typologie of the main document when the caller gives none (S²LOW's defaults)."""
        return _PIECE_TYPES[self]


_ABBREVIATIONS = {
    Nature.DELIBERATION: "DE",
    Nature.ACTE_REGLEMENTAIRE: "AR",
    Nature.ACTE_INDIVIDUEL: "AI",
    Nature.CONTRAT: "CC",
    Nature.BUDGETAIRE: "BF",
    Nature.AUTRE: "AU",
}
_LABELS = {
    Nature.DELIBERATION: "Délibérations",
    Nature.ACTE_REGLEMENTAIRE: "Actes réglementaires",
    Nature.ACTE_INDIVIDUEL: "Actes individuels",
    Nature.CONTRAT: "Contrats, conventions et avenants",
    Nature.BUDGETAIRE: "Documents budgétaires et financiers",
    Nature.AUTRE: "Autres",
}
_PIECE_TYPES = {
    Nature.DELIBERATION: "99_DE",
    Nature.ACTE_REGLEMENTAIRE: "99_AR",
    Nature.ACTE_INDIVIDUEL: "99_AI",
    Nature.CONTRAT: "99_DC",
    Nature.BUDGETAIRE: "99_BU",
    Nature.AUTRE: "99_AU",
}


@dataclass(frozen=True)
class ActesFile:
    """One document of a transmission: the act itself or an annex."""

    name: str
    """Original file name, for the agent; the archive uses the standard @ctes name."""
    content: bytes
    """The file's bytes (PDF for the act; PDF, JPEG or PNG for annexes)."""
    piece_type: str = ""
    """Typologie de pièce (e.g. ``99_DE``, ``99_AU``); empty: the nature's default."""


@dataclass(frozen=True)
class ActesTransmission:
    """Everything needed to transmit one act to the prefecture through a tiers de télétransmission."""

    nature: Nature
    """Nature code of the act (1 to 6)."""
    matiere: str
    """Matière classification code, e.g. ``"5.2"`` (family, then up to four sub-levels)."""
    number: str
    """The collectivité's act number, unique per year: ``^[0-9A-Z_]{1,15}$``."""
    decision_date: dt.date
    """Date of the decision (the council's vote, the signature of the arrêté...)."""
    subject: str
    """Objet of the act, 1 to 499 characters."""
    act: ActesFile
    """The signed act (PDF)."""
    siren: str
    """SIREN of the collectivité (9 digits)."""
    department: str
    """Department code on three characters: ``"034"``, ``"02A"``, ``"974"``."""
    annexes: tuple[ActesFile, ...] = ()
    """Annexes, in the order the agent gave them."""
    district: str = "1"
    """Arrondissement of the collectivité (IDCL/@Arrondissement)."""
    authority_nature: str = "3"
    """Nature of the collectivité as known by the prefecture (IDCL/@Nature)."""
    referent_name: str = ""
    """Agent to contact about this transmission."""
    referent_phone: str = ""
    """That agent's phone number."""
    referent_email: str = ""
    """That agent's e-mail address."""
    return_emails: tuple[str, ...] = field(default=())
    """Addresses the prefecture's answers are also sent to (AdressesRetour)."""
    classification_date: dt.date | None = None
    """Version date of the prefecture's classification used (ClassificationDateVersion)."""
    paper_follows: bool = False
    """Whether a paper copy follows the electronic transmission (DocumentPapier)."""

    @property
    def matiere_levels(self) -> tuple[str, ...]:
        """The classification split in levels: ``"5.2"`` gives ``("5", "2")``."""
        return tuple(self.matiere.split("."))

    @property
    def act_unique_id(self) -> str:
        """The id the prefecture gives the act: ``DDD-SIREN-YYYYMMDD-NUMBER-NN``."""
        return "-".join(
            (
                self.department,
                self.siren,
                self.decision_date.strftime("%Y%m%d"),
                self.number,
                self.nature.abbreviation,
            )
        )


@dataclass(frozen=True)
class Finding:
    """One problem found in a transmission."""

    field: str
    """The input field concerned (``number``, ``subject``, ``annexes[2]``...)."""
    message: str
    """What is wrong and how to fix it, in French."""


@dataclass(frozen=True)
class ValidationReport:
    """Every problem found in a transmission; empty means it may be sent."""

    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not self.findings

    def summary(self) -> str:
        """All findings on one line, in French."""
        return " ; ".join(f"{f.field} : {f.message}" for f in self.findings)


def validate_transmission(
    transmission: ActesTransmission,
    *,
    today: dt.date | None = None,
    known_matieres: frozenset[str] | None = None,
) -> ValidationReport:
    """Check a transmission against the @ctes rules and list every finding.

    ``known_matieres`` is the prefecture's classification (codes like ``"5.2"``) when the
    caller has it; without it only the format and the nine families are checked.
    """
    t = transmission
    findings: list[Finding] = []

    def add(name: str, message: str) -> None:
        findings.append(Finding(name, message))

    if not isinstance(t.nature, Nature):
        add("nature", "code nature inconnu : choisir 1 à 6.")
    if not NUMBER_PATTERN.fullmatch(t.number):
        add("number", "le numéro ne peut contenir que 1 à 15 chiffres, majuscules ou « _ ».")
    if not t.subject.strip():
        add("subject", "l'objet de l'acte est obligatoire.")
    elif len(t.subject) > SUBJECT_MAX_LENGTH:
        add("subject", f"l'objet dépasse {SUBJECT_MAX_LENGTH} caractères ({len(t.subject)}).")
    _check_matiere(t.matiere, known_matieres, add)
    if not SIREN_PATTERN.fullmatch(t.siren):
        add("siren", "le SIREN doit compter 9 chiffres.")
    if not DEPARTMENT_PATTERN.fullmatch(t.department):
        add("department", "le département s'écrit sur 3 caractères (ex. 034, 02A, 974).")
    if today is not None and t.decision_date > today:
        add("decision_date", "la date de décision est dans le futur.")
    _check_file("act", t.act, add, pdf_only=True)
    for index, annex in enumerate(t.annexes):
        _check_file(f"annexes[{index}]", annex, add, pdf_only=False)
    return ValidationReport(tuple(findings))


def _check_matiere(matiere: str, known: frozenset[str] | None, add: _Add) -> None:
    if not MATIERE_PATTERN.fullmatch(matiere):
        add("matiere", "la matière s'écrit comme « 5.2 » (famille 1 à 9, puis sous-niveaux).")
    elif known is not None and matiere not in known:
        add(
            "matiere", f"la matière {matiere} n'existe pas dans la classification de la préfecture."
        )


def _check_file(name: str, file: ActesFile, add: _Add, *, pdf_only: bool) -> None:
    if not file.content:
        add(name, f"le fichier « {file.name} » est vide.")
        return
    if len(file.content) > MAX_FILE_SIZE:
        add(name, f"le fichier « {file.name} » dépasse {MAX_FILE_SIZE // (1024 * 1024)} Mo.")
    kind = sniff_kind(file.content)
    if kind is None or (pdf_only and kind != "pdf"):
        expected = "un PDF" if pdf_only else "un PDF, JPEG ou PNG"
        add(name, f"le fichier « {file.name} » doit être {expected}.")
    if file.piece_type and not PIECE_TYPE_PATTERN.fullmatch(file.piece_type):
        add(name, f"typologie « {file.piece_type} » invalide (forme attendue : 99_DE).")


def sniff_kind(content: bytes) -> str | None:
    """The file kind from its magic bytes: ``pdf``, ``jpg``, ``png`` or None."""
    if content.startswith(b"%PDF-"):
        return "pdf"
    if content.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    return None
