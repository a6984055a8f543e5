"""What a case's archive package is made of: the documents, validation reports, prefecture
acknowledgements and journal extract of `archiving.seal_case`, frozen once so that every retry
builds the same bytes."""

from __future__ import annotations

import json
import re
import tempfile
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import signatures
from archiving import (
    AccessRule,
    ActDescription,
    Agency,
    AppraisalRule,
    FileRole,
    FinalAction,
    Keyword,
    PackageFile,
    PackageSpec,
    Signatory,
    identify_formats,
    pronom_version,
)
from connectors.actes.model import Nature
from connectors.errors import PermanentError
from engine.domain.archives import ArchivedPackage
from engine.domain.journal import utc_iso
from engine.domain.model import Case, Document, JournalEntry
from engine.persistence.uow import UnitOfWork
from engine.services.actes_nomenclature import MATIERES
from engine.services.tenant_settings import ArchiveService

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_ACT_NUMBER = re.compile(r"^[0-9A-Z_]{1,15}$")
SIGNED_KINDS = ("signed", "sealed")


def safe_name(name: str, *, limit: int = 120) -> str:
    """A bag file name: ASCII letters, digits, `.`, `_`, `-` (accents dropped)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    cleaned = _UNSAFE.sub("_", ascii_name).strip("._-") or "fichier"
    return cleaned[:limit]


def package_id_for(case: Case) -> str:
    return safe_name(f"{case.procedure}-{case.reference}", limit=128)


def signed_or_all(docs: list[Document]) -> list[Document]:
    """The signed documents of the case (the last of each signature chain), else its documents."""
    sources = {d.derived_from for d in docs if d.derived_from is not None}
    leaves = [d for d in docs if d.id not in sources]
    signed = [d for d in leaves if d.kind in SIGNED_KINDS]
    return signed or leaves


def act_number(case: Case, acks: list[tuple[str, str, bytes]]) -> str | None:
    if acks:
        return acks[-1][0]
    for key in ("numero_acte", "numero"):
        value = case.data.get(key)
        if isinstance(value, str) and _ACT_NUMBER.match(value):
            return value
    return None


@dataclass(frozen=True)
class Gathered:
    """Everything of the case the package is built from, read in one transaction."""

    case: Case
    documents: list[Document]
    contents: dict[str, bytes]
    acks: list[tuple[str, str, bytes]]
    journal: list[JournalEntry]
    journal_upto: int


def gather(uow: UnitOfWork, tenant: str, case_id: uuid.UUID) -> Gathered:
    case = uow.cases.get(tenant, case_id)
    documents = signed_or_all(uow.documents.for_case(tenant, case_id))
    contents = {str(d.id): uow.documents.content(d) for d in documents}
    acks = uow.archives.acknowledgements(tenant, case_id)
    upto, _ = uow.journal.head(tenant)
    journal = uow.journal.for_case(tenant, case_id)
    return Gathered(case, documents, contents, acks, journal, upto)


def freeze(
    gathered: Gathered,
    typologie: str,
    closed_at: datetime,
    trust_roots: tuple[bytes, ...],
    archive_service: ArchiveService | None = None,
    clock_offset: timedelta = timedelta(0),
) -> dict[str, Any]:
    """What the package is built from, fixed once (validation reports carry their own time,
    format identification runs once, the archive service is the one set when the case closed)."""
    documents, reports = [], {}
    for index, doc in enumerate(gathered.documents, start=1):
        name = f"{index:02d}-{safe_name(doc.name)}"
        documents.append({"id": str(doc.id), "name": name, "title": doc.name, "kind": doc.kind})
        if doc.kind in SIGNED_KINDS:
            report = signatures.validate_pdf(
                gathered.contents[str(doc.id)],
                signatures.ValidationOptions(trust_roots=trust_roots),
            )
            reports[_report_name(name)] = signatures.report_to_json(report)
    case = gathered.case
    frozen: dict[str, Any] = {
        "typologie": typologie,
        "closed_at": utc_iso(closed_at),
        "opened_on": case.created_at.date().isoformat(),
        "journal_upto": gathered.journal_upto,
        "documents": documents,
        "reports": reports,
        "acknowledgements": [
            {"ack_id": ack_id, "name": f"AR-{safe_name(ack_id)}.xml"}
            for _n, ack_id, _x in gathered.acks
        ],
        "keywords": [case.procedure, typologie],
        "act": act_facts(case, typologie, gathered.acks),
        "archive_service": asdict(archive_service) if archive_service else None,
    }
    if clock_offset:  # a training space: its dates stand on its own clock
        frozen["clock_offset_seconds"] = int(clock_offset.total_seconds())
    frozen["formats"] = identified_formats(_contents(frozen, gathered))
    return frozen


def _report_name(document_name: str) -> str:
    return f"{document_name.rsplit('.', 1)[0]}-validation.json"


# The act: its own facts, from the prefecture's acknowledgement first, else from the case ------

TYPE_LABELS = {
    "deliberation": "Délibération",
    "arrete": "Arrêté",
    "marche_public": "Marché public",
    "demande_usager": "Décision sur une demande d'usager",
}
"""The document type of each typologie (SEDA ``DocumentType``)."""


def _day(value: Any) -> str | None:
    """An ISO date from a case value (``2026-03-02``, ``2026-03-02T10:00``), else None."""
    if isinstance(value, dict):
        value = value.get("le") or value.get("date") or value.get("echeance")
    try:
        return date.fromisoformat(str(value)[:10]).isoformat() if value else None
    except ValueError:
        return None


def _text(value: Any, limit: int = 500) -> str | None:
    text = " ".join(str(value).split()) if isinstance(value, str | int) else ""
    return text[:limit] or None


def _from_acknowledgement(xml: bytes) -> dict[str, Any]:
    """The act as the prefecture received it (``ActeRecu`` of the ARActe): date, number,
    nature, matière, objet; the AR identifier and reception date."""
    from connectors.actes.xmlsafe import parse_untrusted_xml, q  # lxml, when a package is built

    try:
        root = parse_untrusted_xml(xml, what="accusé de réception")
    except PermanentError:
        return {}
    found: dict[str, Any] = {
        "ack_id": root.get(q("IDActe")) or None,
        "ack_date": _day(root.get(q("DateReception"))),
    }
    received = root.find(q("ActeRecu"))
    if received is None:
        return found
    levels = []
    for level in range(1, 6):
        node = received.find(q(f"CodeMatiere{level}"))
        code = node.get(q("CodeMatiere")) if node is not None else None
        if not code:
            break
        levels.append(code)
    found |= {
        "act_date": _day(received.get(q("Date"))),
        "number": received.get(q("NumeroInterne")) or None,
        "nature_code": received.get(q("CodeNatureActe")) or None,
        "matiere_code": ".".join(levels) or None,
        "subject": _text(received.findtext(q("Objet"))),
    }
    return {k: v for k, v in found.items() if v}


def act_facts(case: Case, typologie: str, acks: list[tuple[str, str, bytes]]) -> dict[str, Any]:
    """The act's facts as JSON: the prefecture's acknowledgement wins over the case's data."""
    data = case.data
    facts: dict[str, Any] = {
        "type": TYPE_LABELS.get(typologie),
        "typologie": typologie,
        "act_date": _day(data.get("date_decision"))
        or _day(data.get("date_acte"))
        or _day(data.get("seance")),
        "number": _text(data.get("numero_acte") or data.get("numero"), 15),
        "nature_code": _text(data.get("nature"), 2),
        "matiere_code": _text(data.get("matiere"), 20),
        "subject": _text(data.get("objet")),
        "seance": _day(data.get("seance")),
    }
    if acks:
        facts |= _from_acknowledgement(acks[-1][2])
    return {k: v for k, v in facts.items() if v}


_NATURE_TYPES = {
    Nature.DELIBERATION: "Délibération",
    Nature.ACTE_REGLEMENTAIRE: "Acte réglementaire",
    Nature.ACTE_INDIVIDUEL: "Acte individuel",
    Nature.CONTRAT: "Contrat, convention ou avenant",
    Nature.BUDGETAIRE: "Document budgétaire et financier",
    Nature.AUTRE: "Acte",
}
"""The document type of an act of each @ctes nature (for a typologie with no type of its own)."""


def _document_type(facts: dict[str, Any]) -> str:
    if facts.get("type"):
        return str(facts["type"])
    try:
        return _NATURE_TYPES[Nature(int(facts["nature_code"]))]
    except (KeyError, ValueError):
        typologie = str(facts.get("typologie") or "dossier").replace("_", " ")
        return typologie[:1].upper() + typologie[1:]


def _nature_label(code: str | None) -> str | None:
    try:
        return f"{code} {Nature(int(code)).label}" if code else None
    except ValueError:
        return code


def _matiere_label(code: str | None) -> str | None:
    if not code:
        return None
    family = code.split(".", 1)[0]
    labels = [MATIERES[c] for c in (family, ".".join(code.split(".")[:2])) if c in MATIERES]
    return " › ".join(dict.fromkeys(labels)) or None


def act_description(facts: dict[str, Any]) -> ActDescription:
    act_date = facts.get("act_date")
    ack_date = facts.get("ack_date")
    seance = facts.get("seance")
    return ActDescription(
        document_type=_document_type(facts),
        act_date=date.fromisoformat(act_date) if act_date else None,
        number=facts.get("number"),
        nature=_nature_label(facts.get("nature_code")),
        matiere_code=facts.get("matiere_code"),
        matiere_label=_matiere_label(facts.get("matiere_code")),
        subject=facts.get("subject"),
        ack_id=facts.get("ack_id"),
        ack_date=date.fromisoformat(ack_date) if ack_date else None,
        seance=date.fromisoformat(seance) if seance else None,
    )


def _keywords(act: ActDescription) -> tuple[Keyword, ...]:
    """Subject keywords from the @ctes classification (family, then sub-level), the document
    type and the nature; duplicates are dropped when the manifest is written."""
    words: list[Keyword] = []
    if act.matiere_code:
        family = act.matiere_code.split(".", 1)[0]
        second = ".".join(act.matiere_code.split(".")[:2])
        for code in dict.fromkeys((family, second)):
            if code in MATIERES:
                words.append(Keyword(MATIERES[code], code, "subject"))
    code, _, label = (act.nature or "").partition(" ")
    try:
        nature_type = _NATURE_TYPES[Nature(int(code))]
    except ValueError:
        nature_type = None
    if nature_type is not None and nature_type.casefold() == act.document_type.casefold():
        # « Délibération » and « Délibérations » are one term: the nature keeps its code.
        words.append(Keyword(act.document_type, code, "genreform"))
    else:
        words.append(Keyword(act.document_type, None, "genreform"))
        if label:
            words.append(Keyword(label, code, "genreform"))
    return tuple(words)


def act_title(act: ActDescription, case_title: str) -> str:
    """``Délibération n° 2026-001 du 02/03/2026 : Budget primitif`` (human, not a file name)."""
    title = act.document_type
    if act.number:
        title += f" n° {act.number}"
    if act.act_date is not None:
        title += f" du {act.act_date:%d/%m/%Y}"
    return f"{title} : {act.subject or case_title}"


def signatories(report_json: str | None) -> tuple[Signatory, ...]:
    """Signers and signing times read from a frozen validation report (timestamp time first)."""
    try:
        data = json.loads(report_json) if report_json else {}
    except ValueError:
        return ()
    found = []
    for signature in data.get("signatures", []) if isinstance(data, dict) else []:
        if not isinstance(signature, dict):
            continue
        times = [t.get("time") for t in signature.get("timestamps") or [] if isinstance(t, dict)]
        when = next((t for t in times if t), None) or signature.get("claimed_signing_time")
        try:
            signed_at = datetime.fromisoformat(when) if isinstance(when, str) else None
        except ValueError:
            signed_at = None
        name = str(signature.get("signer") or "signataire inconnu")
        found.append(Signatory(name, signed_at, signature.get("pades_level")))
    return tuple(found)


# The files --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Content:
    name: str
    data: bytes
    role: FileRole
    title: str
    mime_type: str
    """The MIME type of what we wrote or received, used when identification finds none."""
    report: str | None = None
    """The frozen validation report of a signed document."""

    @property
    def bag_path(self) -> str:
        return f"data/{self.role.value}/{self.name}"


def _humane(name: str) -> str:
    stem = name.rsplit(".", 1)[0]
    words = " ".join(re.sub(r"[_\-]+", " ", stem).split())
    return words[:1].upper() + words[1:] if words else name


def _contents(frozen: dict[str, Any], gathered: Gathered) -> list[Content]:
    """Every file of the package with its human title, from the frozen row."""
    act = act_description(frozen.get("act") or {})
    case = gathered.case
    items: list[Content] = []
    main_done = False
    titles: dict[str, str] = {}
    for item in frozen["documents"]:
        signed = item.get("kind") in SIGNED_KINDS
        if signed and not main_done and frozen.get("act"):
            title = act_title(act, case.title)
            main_done = True
        else:
            title = (
                f"{'Document signé' if signed else 'Pièce du dossier'} : {_humane(item['title'])}"
            )
        titles[item["name"]] = title
        report = frozen["reports"].get(_report_name(item["name"]))
        items.append(
            Content(
                item["name"],
                gathered.contents[item["id"]],
                FileRole.DOCUMENT,
                title,
                "application/pdf",
                report,
            )
        )
    for name, text in sorted(frozen["reports"].items()):
        source = next((d for d in frozen["documents"] if _report_name(d["name"]) == name), None)
        about = titles.get(source["name"], name) if source else name
        items.append(
            Content(
                name,
                text.encode("utf-8"),
                FileRole.VALIDATION_REPORT,
                f"Rapport de validation des signatures — {about}",
                "application/json",
            )
        )
    by_id = {ack_id: xml for _n, ack_id, xml in gathered.acks}
    for ack in frozen["acknowledgements"]:
        items.append(
            Content(
                ack["name"],
                by_id[ack["ack_id"]],
                FileRole.ACKNOWLEDGEMENT,
                f"Accusé de réception de la préfecture n° {ack['ack_id']}",
                "application/xml",
            )
        )
    items.append(
        Content(
            "journal.jsonl",
            _journal_extract(gathered, frozen["journal_upto"]),
            FileRole.JOURNAL,
            f"Extrait du journal du dossier {case.reference}",
            "application/x-ndjson",
        )
    )
    return items


def identified_formats(contents: Iterable[Content]) -> dict[str, dict[str, str | None]]:
    """The PRONOM format of each file (FIDO, bounded child process), keyed by bag path."""
    items = list(contents)
    with tempfile.TemporaryDirectory(prefix="dematflow-formats-") as tmp:
        paths = []
        for index, item in enumerate(items):
            path = Path(tmp) / f"{index:04d}"  # no extension: the bytes alone decide
            path.write_bytes(item.data)
            paths.append(path)
        found = identify_formats(paths)
    return {
        item.bag_path: {
            "puid": found[path].puid,
            "name": found[path].name,
            "mime": found[path].mime_type,
            "reason": found[path].reason,
        }
        for item, path in zip(items, paths, strict=True)
    }


def package_spec(
    package: ArchivedPackage,
    gathered: Gathered,
    directory: Path,
    tenant_name: str,
    agency: Agency,
    archive_service: ArchiveService | None = None,
) -> PackageSpec:
    """The package's spec from its frozen row; `agency` is the platform's archive service,
    used (and said to be used) when the tenant has not named its own."""
    frozen = package.frozen
    contents = _contents(frozen, gathered)
    formats = frozen.get("formats") or identified_formats(contents)
    files: list[PackageFile] = []
    for item in contents:
        source = directory / f"{item.role.value}-{item.name}"
        source.write_bytes(item.data)
        found = formats.get(item.bag_path) or {}
        name = str(found.get("name") or "")
        if not found.get("puid") and found.get("reason"):
            name = f"{name} par FIDO ({found['reason']})"
        files.append(
            PackageFile(
                source=source,
                name=item.name,
                role=item.role,
                title=item.title,
                mime_type=str(found.get("mime") or item.mime_type),
                pronom_id=found.get("puid") or None,
                format_name=name,
                signatories=signatories(item.report),
            )
        )
    rule = frozen["rule"]
    closed = package.closed_at
    facts = frozen.get("act")
    act = act_description(facts) if facts else None
    start, start_event = dua_start(closed, frozen)
    comments = [
        f"Durée d'utilité administrative et délai de communicabilité comptés à partir de "
        f"la {start_event} ({start:%d/%m/%Y})."
    ]
    service = archive_service
    stored_service = frozen.get("archive_service")
    if stored_service:
        service = ArchiveService(**stored_service)
    elif "archive_service" in frozen:
        service = None
    if service is not None:
        archival = Agency(service.identifiant, service.nom)
    else:
        archival = agency
        comments.append(
            "Service d'archives compétent non renseigné par la collectivité : le paquet est "
            f"confié au service d'archives de la plateforme ({agency.identifier})."
        )
    agreement = service.convention if service is not None and service.convention else None
    if agreement is None:
        comments.append("Aucune convention de versement renseignée par la collectivité.")
    unidentified = [f.name for f in files if not f.pronom_id]
    if unidentified:
        comments.append(
            "Format sans identifiant PRONOM (non reconnu par FIDO) : "
            + ", ".join(unidentified)
            + "."
        )
    keywords: tuple[str | Keyword, ...] = _keywords(act) if act else tuple(frozen["keywords"])
    return PackageSpec(
        package_id=package.package_id,
        tenant=Agency(package.tenant, tenant_name),
        archival_agency=archival,
        clock_offset=timedelta(seconds=int(frozen.get("clock_offset_seconds") or 0)),
        title=act_title(act, package.title) if act else package.title,
        closed_at=closed,
        files=tuple(files),
        appraisal=AppraisalRule(
            rule["rule_id"], rule["years"], start, FinalAction(rule["final_action"])
        ),
        access=AccessRule(rule["access_rule"], start),
        start_date=min(date.fromisoformat(frozen["opened_on"]), start),
        actes_identifier=package.actes_id,
        keywords=keywords,
        act=act,
        archival_agreement=agreement,
        comments=tuple(comments),
        code_lists=code_lists(package.tenant),
        extra_info=(("Case-Reference", gathered.case.reference), ("Typologie", package.typologie)),
    )


def dua_start(closed_at: datetime, frozen: dict[str, Any]) -> tuple[date, str]:
    """The day the DUA runs from and its event: the act's own date when known, else the day
    the case was closed (a package frozen before the act's facts were kept, or a case
    without an act date)."""
    facts = frozen.get("act") or {}
    if facts.get("act_date"):
        return date.fromisoformat(facts["act_date"]), "date de l'acte"
    return closed_at.date(), "date de clôture du dossier (date de l'acte inconnue)"


def code_lists(tenant: str) -> tuple[tuple[str, str], ...]:
    """The SEDA code-list versions the manifest uses, in the schema's order."""
    return (
        ("MessageDigestAlgorithmCodeListVersion", "SEDA 2.3 (SHA-512)"),
        ("MimeTypeCodeListVersion", "IANA Media Types"),
        ("FileFormatCodeListVersion", pronom_version()),
        ("DataObjectVersionCodeListVersion", "SEDA 2.3"),
        ("AppraisalRuleCodeListVersion", f"Tableau de gestion de la collectivité {tenant}"),
        ("AccessRuleCodeListVersion", "Délais de communicabilité (Code du patrimoine L213-2)"),
    )


def _journal_extract(gathered: Gathered, upto: int) -> bytes:
    """The case's journal entries as JSON Lines, each with its chain hashes (provable)."""
    lines = []
    for entry in gathered.journal:
        if entry.seq > upto:
            continue
        body = asdict(entry)
        body["case_id"] = str(entry.case_id) if entry.case_id else None
        body["recorded_at"] = utc_iso(entry.recorded_at)
        lines.append(json.dumps(body, ensure_ascii=False, sort_keys=True))
    return ("\n".join(lines) + "\n").encode("utf-8")
