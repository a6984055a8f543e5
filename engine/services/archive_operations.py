"""`archiving.seal_case`: the closed case becomes a sealed package stored under Object Lock.

The first run freezes what the package is made of (closing time, journal extent, signature
validation reports) in the `archive_packages` row, so every retry builds the same bytes and
the store keeps a single copy. The case stays visibly waiting (row `en_attente` with the last
error, job retried) until every object has been written, read back and compared.
"""

from __future__ import annotations

import json
import re
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from archiving import (
    AccessRule,
    Agency,
    AppraisalRule,
    ArchivingError,
    FileRole,
    FinalAction,
    InvalidManifestError,
    InvalidPackageInputError,
    PackageFile,
    PackageSpec,
    StoredPackage,
    build_package,
    prepare_tenant_bucket,
    store_package,
)
from archiving.model import add_years
from engine.domain.archives import ARCHIVED, TRANSFERRED, WAITING, ArchivedPackage
from engine.domain.errors import InvalidInput
from engine.domain.journal import utc_iso
from engine.domain.model import Case, Document, JournalEntry
from engine.persistence.uow import UnitOfWork
from engine.services.archives.retention import retention_rule
from engine.services.archives.setup import ArchiveSetup, ArchiveUnavailable, archive_setup
from engine.services.operations import (
    OperationContext,
    OperationFailed,
    OperationRegistry,
    OperationRetry,
)
from engine.settings import Settings
from engine.signing import signing_setup
from signatures import SignatureError, ValidationOptions, report_to_json, validate_pdf

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


def _documents(docs: list[Document]) -> list[Document]:
    """The signed documents of the case (the last of each signature chain), else its documents."""
    sources = {d.derived_from for d in docs if d.derived_from is not None}
    leaves = [d for d in docs if d.id not in sources]
    signed = [d for d in leaves if d.kind in SIGNED_KINDS]
    return signed or leaves


def _act_number(case: Case, acks: list[tuple[str, str, bytes]]) -> str | None:
    if acks:
        return acks[-1][0]
    for key in ("numero_acte", "numero"):
        value = case.data.get(key)
        if isinstance(value, str) and _ACT_NUMBER.match(value):
            return value
    return None


@dataclass(frozen=True)
class _Gathered:
    case: Case
    documents: list[Document]
    contents: dict[str, bytes]
    acks: list[tuple[str, str, bytes]]
    journal: list[JournalEntry]
    journal_upto: int


def _gather(uow: UnitOfWork, ctx: OperationContext) -> _Gathered:
    case = uow.cases.get(ctx.tenant, ctx.case_id)
    documents = _documents(uow.documents.for_case(ctx.tenant, ctx.case_id))
    contents = {str(d.id): uow.documents.content(d) for d in documents}
    acks = uow.archives.acknowledgements(ctx.tenant, ctx.case_id)
    upto, _ = uow.journal.head(ctx.tenant)
    journal = uow.journal.for_case(ctx.tenant, ctx.case_id)
    return _Gathered(case, documents, contents, acks, journal, upto)


def _freeze(
    gathered: _Gathered, typologie: str, ctx: OperationContext, trust_roots: tuple[bytes, ...]
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
        "closed_at": utc_iso(ctx.now),
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


def _new_package(
    uow: UnitOfWork, gathered: _Gathered, frozen: dict[str, Any], ctx: OperationContext
) -> ArchivedPackage:
    rule = retention_rule(uow, ctx.tenant, frozen["typologie"])
    closed = datetime.fromisoformat(frozen["closed_at"])
    frozen = {**frozen, "rule": asdict(rule)}
    case = gathered.case
    act_number = _act_number(case, gathered.acks)
    package = ArchivedPackage(
        tenant=ctx.tenant,
        package_id=package_id_for(case),
        case_id=case.id,
        procedure=case.procedure,
        typologie=frozen["typologie"],
        title=case.title,
        act_number=act_number,
        actes_id=gathered.acks[-1][1] if gathered.acks else None,
        closed_at=closed,
        state=WAITING,
        dua_rule=rule.rule_id,
        dua_end=add_years(closed.date(), rule.years),
        final_action=rule.final_action,
        frozen=frozen,
    )
    words = [case.title, case.reference, act_number or "", package.actes_id or ""]
    words += [case.procedure, frozen["typologie"], *(d["title"] for d in frozen["documents"])]
    uow.archives.add_waiting(package, search_text=" ".join(words).lower(), now=ctx.now)
    return package


def _spec(
    package: ArchivedPackage, gathered: _Gathered, directory: Path, tenant_name: str, agency: Agency
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


def _journal_extract(gathered: _Gathered, upto: int) -> bytes:
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


def _result(package: ArchivedPackage) -> dict[str, Any]:
    return {
        "paquet": package.package_id,
        "statut": "archivé",
        "sceau_sha512": package.seal_sha512,
        "fin_dua": package.dua_end.isoformat(),
        "sort_final": package.final_action,
    }


def _prepare(
    ctx: OperationContext, typologie: str, trust_roots: Callable[[], tuple[bytes, ...]]
) -> tuple[ArchivedPackage, _Gathered] | dict[str, Any]:
    """The package row (created and frozen on the first run) and what it is built from."""
    with ctx.unit_of_work() as uow:
        remembered = uow.jobs.recall_effect(ctx.idempotency_key)
        if remembered is not None:
            return remembered
        package = uow.archives.for_case(ctx.tenant, ctx.case_id)
        if package is not None and package.state in (ARCHIVED, TRANSFERRED):
            return _result(package)
        gathered = _gather(uow, ctx)
    if package is not None:
        return package, gathered
    frozen = _freeze(gathered, typologie, ctx, trust_roots())
    with ctx.unit_of_work() as uow:
        package = uow.archives.for_case(ctx.tenant, ctx.case_id)
        if package is None:
            try:
                package = _new_package(uow, gathered, frozen, ctx)
            except InvalidInput as exc:
                raise OperationFailed("archivage_impossible", str(exc)) from exc
            uow.journal.append(
                tenant=ctx.tenant,
                kind="archive.waiting",
                case_id=ctx.case_id,
                actor="system:archives",
                payload={"package": package.package_id, "typologie": typologie},
                now=ctx.now,
            )
            uow.commit()
    return package, gathered


def _wait(ctx: OperationContext, package: ArchivedPackage, message: str) -> OperationRetry:
    with ctx.unit_of_work() as uow:
        uow.archives.note_failure(ctx.tenant, package.package_id, message, ctx.now)
        uow.commit()
    return OperationRetry(message)


def _store(
    package: ArchivedPackage, gathered: _Gathered, config: ArchiveSetup, tenant_name: str
) -> StoredPackage:
    with tempfile.TemporaryDirectory(prefix="dematflow-sip-") as tmp:
        work = Path(tmp)
        (work / "sources").mkdir()
        spec = _spec(package, gathered, work / "sources", tenant_name, config.archival_agency)
        built = build_package(spec, work, sealer=config.sealer)
        with config.store() as store:
            bucket = config.bucket(package.tenant)
            prepare_tenant_bucket(store, bucket)
            return store_package(store, bucket, built)


def seal_case(
    ctx: OperationContext,
    params: dict[str, Any],
    *,
    setup: Callable[[], ArchiveSetup],
    trust_roots: Callable[[], tuple[bytes, ...]],
) -> dict[str, Any]:
    typologie = str(params.get("typologie") or "").strip()
    if not typologie:
        raise OperationFailed("archivage_impossible", "Typologie d'archivage manquante.")
    prepared = _prepare(ctx, typologie, trust_roots)
    if isinstance(prepared, dict):
        return prepared
    package, gathered = prepared
    try:
        config = setup()
    except ArchiveUnavailable as exc:
        raise _wait(ctx, package, str(exc)) from exc
    with ctx.unit_of_work() as uow:
        tenant = uow.tenants.get(ctx.tenant)
    try:
        stored = _store(package, gathered, config, tenant.name if tenant else ctx.tenant)
    except (InvalidManifestError, InvalidPackageInputError) as exc:
        raise OperationFailed("archivage_impossible", str(exc)) from exc
    except (ArchivingError, SignatureError) as exc:
        raise _wait(ctx, package, f"Archivage en attente : {exc}") from exc
    return _record(ctx, package, stored)


def _record(
    ctx: OperationContext, package: ArchivedPackage, stored: StoredPackage
) -> dict[str, Any]:
    objects = [asdict(o) for o in stored.objects]
    with ctx.unit_of_work() as uow:
        remembered = uow.jobs.recall_effect(ctx.idempotency_key)
        if remembered is not None:
            return remembered
        uow.archives.update(
            ctx.tenant,
            package.package_id,
            ctx.now,
            state=ARCHIVED,
            last_error=None,
            bucket=stored.bucket,
            seal_sha512=stored.seal_sha512,
            objects=objects,
            total_bytes=sum(o.size for o in stored.objects),
            retain_until=stored.retain_until,
            archived_at=ctx.now,
        )
        result = _result(ArchivedPackage(**{**asdict(package), "seal_sha512": stored.seal_sha512}))
        uow.journal.append(
            tenant=ctx.tenant,
            kind="archive.sealed",
            case_id=ctx.case_id,
            actor="system:archives",
            payload={
                "package": package.package_id,
                "bucket": stored.bucket,
                "seal_sha512": stored.seal_sha512,
                "objects": len(objects),
                "retain_until": utc_iso(stored.retain_until),
                "already_stored": stored.already_stored,
            },
            now=ctx.now,
        )
        uow.jobs.remember_effect(
            idempotency_key=ctx.idempotency_key,
            tenant=ctx.tenant,
            operation="archiving.seal_case",
            result=result,
            now=ctx.now,
        )
        uow.seal_journal_after_commit(ctx.tenant)
        uow.commit()
    return result


def register(registry: OperationRegistry, settings: Settings) -> None:
    cache: dict[str, Any] = {}

    def setup() -> ArchiveSetup:
        if "setup" not in cache:
            cache["setup"] = archive_setup(settings)
        return cache["setup"]  # type: ignore[no-any-return]

    def trust_roots() -> tuple[bytes, ...]:
        try:
            return signing_setup(settings).trust_roots
        except (OSError, ValueError) as exc:
            raise OperationRetry(f"PKI indisponible : {exc}") from exc

    registry.register(
        "archiving.seal_case",
        lambda ctx, p: seal_case(ctx, p, setup=setup, trust_roots=trust_roots),
        queue="sealing",
        description="Scelle le dossier clos en paquet d'archives (SEDA 2.3, Object Lock)",
    )
