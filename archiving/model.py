"""Inputs describing an archival package: who transfers it, what it holds, how long it is kept."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from archiving.errors import InvalidPackageInputError

__all__ = [
    "AccessRule",
    "ActDescription",
    "Agency",
    "AppraisalRule",
    "FileRole",
    "FinalAction",
    "Keyword",
    "PackageFile",
    "PackageSpec",
    "Signatory",
    "add_years",
    "check_package_id",
]

_PACKAGE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_BAG_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


class FinalAction(StrEnum):
    """SEDA final action once the DUA has elapsed (sort final)."""

    KEEP = "Keep"
    DESTROY = "Destroy"


class FileRole(StrEnum):
    """What a file is in the case; it decides the folder of the bag it goes to."""

    DOCUMENT = "documents"
    VALIDATION_REPORT = "validation-reports"
    ACKNOWLEDGEMENT = "acknowledgements"
    JOURNAL = "journal"


@dataclass(frozen=True)
class Agency:
    """An organisation named in the manifest (archival or originating agency)."""

    identifier: str
    """Its identifier (the SIREN for a collectivité, the operator's identifier otherwise)."""
    name: str
    """Its name as readers see it."""


@dataclass(frozen=True)
class AppraisalRule:
    """The DUA (durée d'utilité administrative) and what happens when it ends."""

    rule_id: str
    """Identifier of the rule in the tenant's retention schedule (e.g. ``DUA-DELIB-P10Y``)."""
    years: int
    """Length of the DUA in years; objects are locked (COMPLIANCE) until it ends."""
    start_date: date
    """Date the DUA starts from (usually the case's closing date)."""
    final_action: FinalAction
    """Sort final: keep (transfer to permanent archives) or destroy."""

    @property
    def end_date(self) -> date:
        """Last protected day: the lock holds until this date."""
        return add_years(self.start_date, self.years)


@dataclass(frozen=True)
class AccessRule:
    """Communicability (CRPA / Code du patrimoine delays)."""

    rule_id: str
    """Identifier of the access rule (e.g. ``AR038`` for immediately communicable)."""
    start_date: date
    """Date the communicability delay starts from."""


@dataclass(frozen=True)
class Signatory:
    """Who signed a document, and when (as its signature validation report says)."""

    name: str
    """The signer's name (certificate subject common name)."""
    signed_at: datetime | None
    """The signature's time: its RFC 3161 timestamp when there is one, else the claimed time."""
    level: str | None = None
    """PAdES level reached (``B-LTA``...)."""


@dataclass(frozen=True)
class Keyword:
    """An indexing term; ``reference`` is its code in ``scheme`` (the @ctes classification)."""

    content: str
    reference: str | None = None
    kind: str = "subject"
    """SEDA ``KeywordType``: subject, corpname, geogname, genreform..."""


@dataclass(frozen=True)
class ActDescription:
    """What an archivist asks about the act the package holds (all optional but the type)."""

    document_type: str
    """Its type in words (``Délibération``, ``Marché public``, ``Décision``...)."""
    act_date: date | None = None
    """The act's own date (date of the decision)."""
    number: str | None = None
    """The act number (``2026-001``)."""
    nature: str | None = None
    """@ctes nature with its code (``1 Délibérations``)."""
    matiere_code: str | None = None
    """@ctes matière code (``7.1``)."""
    matiere_label: str | None = None
    """@ctes matière in words (``Finances locales › Décisions budgétaires``)."""
    subject: str | None = None
    """The act's objet."""
    ack_id: str | None = None
    """The prefecture's acknowledgement identifier (``DDD-SIREN-YYYYMMDD-NUMERO-NN``)."""
    ack_date: date | None = None
    """Date the prefecture received the act (it starts the legality control)."""
    seance: date | None = None
    """Date of the council session that adopted it."""
    start_event: str = "date de l'acte"
    """The event the DUA and the communicability delay run from, in words."""


@dataclass(frozen=True)
class PackageFile:
    """One file of the case to put in the package."""

    source: Path
    """Where the file is now; it is read once, while copied into the bag."""
    name: str
    """File name inside the bag folder of its role (letters, digits, ``.``, ``_``, ``-``)."""
    role: FileRole
    """What the file is; decides its folder under ``data/``."""
    title: str
    """Title of the document, written in the manifest."""
    mime_type: str = "application/octet-stream"
    """MIME type of the file."""
    pronom_id: str | None = None
    """PRONOM identifier found by the identification tool (``fmt/354`` PDF/A-1b, ``fmt/477``
    PDF/A-2b, ``fmt/276`` PDF 1.7...); None when it recognised nothing."""
    format_name: str = ""
    """The format in words, or why it was not identified (SEDA ``FormatLitteral``)."""
    signatories: tuple[Signatory, ...] = ()
    """The document's signatures (SEDA ``SigningInformation``)."""

    @property
    def bag_path(self) -> str:
        """Path of the file in the bag, relative to the bag root."""
        return f"data/{self.role.value}/{self.name}"


@dataclass(frozen=True)
class PackageSpec:
    """Everything needed to build the SIP of one closed case (or one act)."""

    package_id: str
    """Stable identifier of the package (the same case always gives the same id)."""
    tenant: Agency
    """The collectivité: originating agency of the records."""
    archival_agency: Agency
    """The operator's archive service keeping the records."""
    title: str
    """Title of the case (objet of the act)."""
    closed_at: datetime
    """When the case was closed; dates the transfer and the bag."""
    files: tuple[PackageFile, ...]
    """The files: signed documents, validation reports, acknowledgement, journal extract."""
    appraisal: AppraisalRule
    """DUA and final action."""
    access: AccessRule
    """Communicability rule."""
    start_date: date | None = None
    """Date of the oldest document of the case (defaults to the closing date)."""
    description: str = ""
    """Free text description of the case."""
    actes_identifier: str | None = None
    """@ctes acknowledgement identifier (``DDD-SIREN-YYYYMMDD-NUMERO-NN``) when transmitted."""
    keywords: tuple[str | Keyword, ...] = ()
    """Keywords (matière, nature, procedure...); duplicates are written once."""
    act: ActDescription | None = None
    """The act the package holds, when it holds one."""
    archival_agreement: str | None = None
    """Identifier of the convention de versement with the archives service."""
    comments: tuple[str, ...] = ()
    """Notes for the archivist (defaults used, what was not known) (SEDA ``Comment``)."""
    code_lists: tuple[tuple[str, str], ...] = ()
    """SEDA code-list versions declared (element name, version), in schema order."""
    extra_info: tuple[tuple[str, str], ...] = field(default=())
    """Extra ``bag-info.txt`` lines (label, value), e.g. the case number."""
    clock_offset: timedelta = timedelta(0)
    """A training space's clock advance over the real time: its acts are dated on that clock
    while the seal is timestamped in real time. Written in ``bag-info.txt`` (sealed with it) so
    that verification compares the content's dates with the seal on the same clock."""

    def check(self) -> None:
        """Raise :class:`InvalidPackageInputError` when the spec cannot make a package."""
        check_package_id(self.package_id)
        if not self.files:
            raise InvalidPackageInputError(
                "Un paquet d'archives doit contenir au moins un fichier."
            )
        seen: set[str] = set()
        for item in self.files:
            if not _BAG_NAME.match(item.name):
                raise InvalidPackageInputError(f"Nom de fichier refusé : {item.name!r}.")
            if item.bag_path in seen:
                raise InvalidPackageInputError(f"Fichier en double : {item.bag_path}.")
            seen.add(item.bag_path)
            if not item.source.is_file():
                raise InvalidPackageInputError(f"Fichier introuvable : {item.source}.")
        if self.appraisal.years < 0:
            raise InvalidPackageInputError("La durée d'utilité administrative est négative.")


def check_package_id(package_id: str) -> str:
    """Return ``package_id`` when usable as a key prefix, else raise."""
    if not _PACKAGE_ID.match(package_id):
        raise InvalidPackageInputError(f"Identifiant de paquet refusé : {package_id!r}.")
    return package_id


def add_years(day: date, years: int) -> date:
    """``day`` plus whole years; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)
