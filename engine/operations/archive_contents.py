"""What a case's archive package is made of: the documents, validation reports, prefecture
acknowledgements and journal extract of `archiving.seal_case`, frozen once so that every retry
builds the same bytes."""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from archiving import (
    AccessRule,
    Agency,
    AppraisalRule,
    FileRole,
    FinalAction,
    PackageFile,
    PackageSpec,
)
from engine.domain.archives import ArchivedPackage
from engine.domain.journal import utc_iso
from engine.domain.model import Case, Document, JournalEntry
from engine.persistence.uow import UnitOfWork
from signatures import ValidationOptions, report_to_json, validate_pdf

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
    gathered: Gathered, typologie: str, closed_at: datetime, trust_roots: tuple[bytes, ...]
) -> dict[str, Any]:
    """What the package is built from, fixed once (validation reports carry their own time)."""
    documents, reports = [], {}
    for index, doc in enumerate(gathered.documents, start=1):
        name = f"{index:02d}-{safe_name(doc.name)}"
        documents.append({"id": str(doc.id), "name": name, "title": doc.name, "kind": doc.kind})
        if doc.kind in SIGNED_KINDS:
            report = validate_pdf(
                gathered.contents[str(doc.id)], ValidationOptions(trust_roots=trust_roots)
            )
            reports[f"{name.rsplit('.', 1)[0]}-validation.json"] = report_to_json(report)
    case = gathered.case
    return {
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
    }


def package_spec(
    package: ArchivedPackage, gathered: Gathered, directory: Path, tenant_name: str, agency: Agency
) -> PackageSpec:
    frozen = package.frozen
    files: list[PackageFile] = []

    def add(name: str, data: bytes, role: FileRole, title: str, mime: str) -> None:
        source = directory / f"{role.value}-{name}"
        source.write_bytes(data)
        files.append(PackageFile(source=source, name=name, role=role, title=title, mime_type=mime))

    for item in frozen["documents"]:
        content = gathered.contents[item["id"]]
        add(item["name"], content, FileRole.DOCUMENT, item["title"], "application/pdf")
    for name, text in sorted(frozen["reports"].items()):
        add(name, text.encode("utf-8"), FileRole.VALIDATION_REPORT, name, "application/json")
    by_id = {ack_id: xml for _n, ack_id, xml in gathered.acks}
    for ack in frozen["acknowledgements"]:
        add(
            ack["name"],
            by_id[ack["ack_id"]],
            FileRole.ACKNOWLEDGEMENT,
            ack["name"],
            "application/xml",
        )
    add(
        "journal.jsonl",
        _journal_extract(gathered, frozen["journal_upto"]),
        FileRole.JOURNAL,
        "Extrait du journal du dossier",
        "application/x-ndjson",
    )
    rule = frozen["rule"]
    closed = package.closed_at
    return PackageSpec(
        package_id=package.package_id,
        tenant=Agency(package.tenant, tenant_name),
        archival_agency=agency,
        title=package.title,
        closed_at=closed,
        files=tuple(files),
        appraisal=AppraisalRule(
            rule["rule_id"], rule["years"], closed.date(), FinalAction(rule["final_action"])
        ),
        access=AccessRule(rule["access_rule"], closed.date()),
        start_date=date.fromisoformat(frozen["opened_on"]),
        actes_identifier=package.actes_id,
        keywords=tuple(frozen["keywords"]),
        extra_info=(("Case-Reference", gathered.case.reference), ("Typologie", package.typologie)),
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
