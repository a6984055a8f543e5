"""The electronic archive as the platform uses it: storage setup and start-up check, retention
schedule, search, DIP and tenant export, retention decisions at the end of a DUA, legal holds.

Sealing a case is the `archiving.seal_case` operation (engine.operations.archiving); periodic
journal seals and fixity audits are in archive_audits.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from archiving import (
    Agency,
    ArchivingError,
    FinalAction,
    ObjectStore,
    PackageNotFoundError,
    PackageReport,
    RetentionActiveError,
    S3Config,
    Sealer,
    SealVerifier,
    Timestamper,
    TimestampVerifier,
    destroy_package,
    export_dip,
    export_tenant,
    prepare_tenant_bucket,
    set_package_legal_hold,
    tenant_bucket,
    verify_package,
)
from archiving.audit import StoredPackageReader
from archiving.destruction import (
    DestructionDescription,
    EliminationVisa,
    destruction_record_zip,
)
from archiving.model import add_years
from archiving.store import lock_end, package_key
from engine.archive_seals import (
    SignaturesSealer,
    SignaturesSealVerifier,
    SignaturesTimestamper,
    SignaturesTimestampVerifier,
    configured_seal_identities,
)
from engine.domain.errors import DematflowError, Forbidden, InvalidInput, NotFound
from engine.domain.journal import utc_iso
from engine.domain.model import Actor
from engine.persistence.archive_repositories import (
    ARCHIVED,
    DESTROYED,
    TRANSFERRED,
    ArchivedPackage,
    RetentionDecision,
    RetentionRuleRow,
)
from engine.persistence.uow import UnitOfWork, UnitOfWorkFactory
from engine.settings import Settings
from engine.signing import signing_setup
from signatures.errors import SignatureError

DEFAULT_SCHEDULE_FILE = Path(__file__).with_name("retention_schedule.json")
ARCHIVAL_AGENCY = Agency("dematflow-archives", "Service d'archives électroniques de l'opérateur")
RECORD_RETENTION_YEARS = 30
"""How long destruction records and journal seals stay under COMPLIANCE lock."""


class ArchiveUnavailable(DematflowError):
    """The archive cannot work now (storage or seal not configured, store unreachable)."""


@dataclass(frozen=True)
class ArchiveSetup:
    """Everything the archive services need, built once per process from Settings."""

    s3: S3Config
    bucket_prefix: str
    sealer: Sealer
    seal_verifier: SealVerifier
    timestamper: Timestamper
    timestamp_verifier: TimestampVerifier
    archival_agency: Agency = ARCHIVAL_AGENCY

    def bucket(self, tenant: str) -> str:
        return tenant_bucket(self.bucket_prefix, tenant)

    @contextmanager
    def store(self) -> Iterator[ObjectStore]:
        store = ObjectStore(self.s3)
        try:
            yield store
        finally:
            store.close()


def archive_setup(settings: Settings) -> ArchiveSetup:
    """The archive's storage and seals; :class:`ArchiveUnavailable` when not configured."""
    storage = settings.storage
    if not storage.endpoint:
        raise ArchiveUnavailable("stockage d'archives non configuré")
    try:
        signing = signing_setup(settings)
        identities = configured_seal_identities(settings, seal_key=signing.seal_key)
    except (OSError, ValueError, SignatureError) as exc:
        raise ArchiveUnavailable(f"cachet d'archivage indisponible : {exc}") from exc
    if not signing.timestamp_url:
        raise ArchiveUnavailable("aucune autorité d'horodatage configurée")
    return ArchiveSetup(
        s3=S3Config(
            endpoint=storage.endpoint,
            access_key=storage.access_key,
            secret_key=storage.secret_key,
            secure=storage.secure,
            region=storage.region,
        ),
        bucket_prefix=storage.bucket_prefix,
        sealer=SignaturesSealer(signing.seal_key, signing.timestamp_url, signing.trust_roots),
        seal_verifier=SignaturesSealVerifier(signing.trust_roots, identities),
        timestamper=SignaturesTimestamper(signing.timestamp_url),
        timestamp_verifier=SignaturesTimestampVerifier(signing.trust_roots),
    )


def check_archive_storage(uow_factory: UnitOfWorkFactory, setup: ArchiveSetup) -> dict[str, str]:
    """Start-up check: every tenant bucket exists with Object Lock and versioning.

    Missing buckets are created locked; a bucket without Object Lock is reported (tenant →
    French problem) and archiving into it is refused by `store_package` anyway.
    """
    with uow_factory() as uow:
        tenants = [t.siren for t in uow.tenants.all()]
    problems: dict[str, str] = {}
    with setup.store() as store:
        for tenant in tenants:
            try:
                prepare_tenant_bucket(store, setup.bucket(tenant))
            except ArchivingError as exc:
                problems[tenant] = str(exc)
    return problems


# Retention schedule --------------------------------------------------------------------------


def default_schedule() -> dict[str, RetentionRuleRow]:
    data: dict[str, Any] = json.loads(DEFAULT_SCHEDULE_FILE.read_text("utf-8"))
    return {
        name: RetentionRuleRow(
            name, entry["rule_id"], int(entry["years"]), entry["final_action"], entry["access_rule"]
        )
        for name, entry in data.items()
        if not name.startswith("_")
    }


def retention_rule(uow: UnitOfWork, tenant: str, typologie: str) -> RetentionRuleRow:
    """The tenant's own rule for this typologie, else the default schedule's; else refused."""
    rule = uow.archives.retention_rule(tenant, typologie) or default_schedule().get(typologie)
    if rule is None:
        raise InvalidInput(
            f"Aucune règle de conservation pour la typologie « {typologie} » : "
            "complétez le tableau de gestion."
        )
    return rule


def set_retention_rule(
    uow: UnitOfWork, tenant: str, rule: RetentionRuleRow, *, actor: Actor, now: datetime
) -> None:
    """Record a tenant's own retention schedule entry (journaled)."""
    if rule.years < 0 or rule.final_action not in {a.value for a in FinalAction}:
        raise InvalidInput("Règle de conservation invalide.")
    uow.archives.set_retention_rule(tenant, rule, now)
    uow.journal.append(
        tenant=tenant,
        kind="archive.retention_rule",
        case_id=None,
        actor=actor.user_id,
        payload=asdict(rule),
        now=now,
    )


# Search and access -----------------------------------------------------------------------------


SEARCH_PAGE_SIZE = 50
SEARCH_COUNT_CAP = 1000
"""A result list counts its matches up to this number only ("plus de 1000 résultats")."""


@dataclass(frozen=True)
class SearchFilters:
    """The archivist's search criteria, as typed in the search form."""

    procedure: str = ""
    typologie: str = ""
    act_number: str = ""
    closed_from: date | None = None
    closed_to: date | None = None
    keywords: str = ""
    """Words that must all appear in the record's text (title, act, parties…)."""
    include_waiting: bool = True

    def query(self) -> dict[str, Any]:
        """The repository's keyword arguments (dates as a half-open UTC interval)."""
        start = self.closed_from
        end = self.closed_to + timedelta(days=1) if self.closed_to else None
        return {
            "procedure": self.procedure.strip() or None,
            "typologie": self.typologie.strip() or None,
            "act_number": self.act_number.strip().upper() or None,
            "closed_from": datetime.combine(start, time(0), tzinfo=UTC) if start else None,
            "closed_to": datetime.combine(end, time(0), tzinfo=UTC) if end else None,
            "words": [w for w in self.keywords.lower().split() if w][:10],
            "states": () if self.include_waiting else (ARCHIVED, TRANSFERRED),
        }


@dataclass(frozen=True)
class SearchPage:
    """One page of results, most recently closed first."""

    packages: list[ArchivedPackage]
    matching: int | None
    """Number of matching packages, counted up to `cap + 1` only; None when not counted
    (keyword searches: counting would read the text of every matching record)."""
    cap: int
    next_cursor: str | None
    """Where the next page starts (None on the last page)."""

    @property
    def more_than_cap(self) -> bool:
        return self.matching is not None and self.matching > self.cap


def search_packages(
    uow: UnitOfWork,
    tenant: str,
    *,
    procedure: str | None = None,
    act_number: str | None = None,
    closed_from: date | None = None,
    closed_to: date | None = None,
    keywords: str = "",
    include_waiting: bool = True,
    limit: int = 100,
) -> list[ArchivedPackage]:
    """Archived records of one tenant by procedure, act number, closing dates and keywords."""
    filters = SearchFilters(
        procedure=procedure or "",
        act_number=act_number or "",
        closed_from=closed_from,
        closed_to=closed_to,
        keywords=keywords,
        include_waiting=include_waiting,
    )
    return uow.archives.search(tenant, **filters.query(), limit=min(max(limit, 1), 500))


def _cursor(package: ArchivedPackage) -> str:
    return f"{package.closed_at.astimezone(UTC).isoformat()}|{package.package_id}"


def _parse_cursor(cursor: str) -> tuple[datetime, str]:
    moment, _, package_id = cursor.partition("|")
    try:
        closed_at = datetime.fromisoformat(moment)
    except ValueError:
        closed_at = None
    if closed_at is None or closed_at.tzinfo is None or not package_id:
        raise InvalidInput("Page de résultats invalide : relancez la recherche.")
    return closed_at, package_id


def search_archives(
    uow: UnitOfWork,
    tenant: str,
    filters: SearchFilters,
    *,
    after: str = "",
    page_size: int = SEARCH_PAGE_SIZE,
    count_cap: int = SEARCH_COUNT_CAP,
) -> SearchPage:
    """One page of the archivist's search: keyset paging (`after` is the previous page's
    `next_cursor`) and a capped count, so that the page costs the same with a thousand
    records or a million (bench/bench_archive_search.py). Keyword searches are not counted:
    a frequent word in a large collectivité would mean reading a thousand texts per page."""
    query = filters.query()
    size = min(max(page_size, 1), 200)
    rows = uow.archives.search(
        tenant,
        **query,
        after=_parse_cursor(after) if after else None,
        summary=True,
        limit=size + 1,
    )
    matching = (
        None if query["words"] else uow.archives.count_matching(tenant, **query, cap=count_cap)
    )
    more = len(rows) > size
    packages = rows[:size]
    return SearchPage(packages, matching, count_cap, _cursor(packages[-1]) if more else None)


def _stored(uow: UnitOfWork, tenant: str, package_id: str) -> ArchivedPackage:
    package = uow.archives.get(tenant, package_id)
    if package is None or package.state not in (ARCHIVED, TRANSFERRED):
        raise NotFound("Paquet d'archives introuvable.")
    return package


def verify_stored_package(
    uow: UnitOfWork, setup: ArchiveSetup, tenant: str, package_id: str
) -> PackageReport:
    """ "Verify now": re-read the stored package, recompute every digest, check its seal."""
    _stored(uow, tenant, package_id)
    bucket = setup.bucket(tenant)
    try:
        with setup.store() as store:
            versions = store.versions(bucket, package_key(package_id))
            reader = StoredPackageReader(store, bucket, package_id, versions)
            return verify_package(reader, seal_verifier=setup.seal_verifier)
    except ArchivingError as exc:
        raise ArchiveUnavailable(str(exc)) from exc


def export_package_dip(
    uow: UnitOfWork,
    setup: ArchiveSetup,
    tenant: str,
    package_id: str,
    target: Path,
    *,
    actor: Actor,
    now: datetime,
) -> dict[str, object]:
    """Write the DIP zip of one package (bag, verification report, manifest); journaled."""
    _stored(uow, tenant, package_id)
    with setup.store() as store:
        manifest = export_dip(
            store, setup.bucket(tenant), package_id, target, seal_verifier=setup.seal_verifier
        )
    uow.journal.append(
        tenant=tenant,
        kind="archive.communicated",
        case_id=None,
        actor=actor.user_id,
        payload={"package": package_id, "files": len(manifest.get("files", []))},  # type: ignore[arg-type]
        now=now,
    )
    return manifest


def _package_record(package: ArchivedPackage) -> dict[str, Any]:
    record = asdict(package)
    record.pop("frozen")
    return json.loads(json.dumps(record, default=str))  # type: ignore[no-any-return]


def export_tenant_archives(
    uow: UnitOfWork,
    setup: ArchiveSetup,
    tenant: str,
    directory: Path,
    *,
    actor: Actor,
    now: datetime,
) -> dict[str, int]:
    """Reversibility: every stored object, plus the platform's records in open formats
    (packages, retention decisions, journal seals as JSON, the whole journal as JSON Lines)."""
    with setup.store() as store:
        result = export_tenant(store, setup.bucket(tenant), directory / "stockage")
    platform = directory / "plateforme"
    platform.mkdir()
    packages = uow.archives.search(tenant, limit=1_000_000)
    (platform / "paquets.json").write_text(
        json.dumps([_package_record(p) for p in packages], ensure_ascii=False, indent=1), "utf-8"
    )
    decisions = [asdict(d) for d in uow.archives.decisions(tenant)]
    (platform / "decisions-de-sort-final.json").write_text(
        json.dumps(decisions, ensure_ascii=False, indent=1, default=str), "utf-8"
    )
    seals = [json.loads(s.to_json()) for s in uow.archives.seals(tenant)]
    (platform / "sceaux-journal.json").write_text(json.dumps(seals, indent=1), "utf-8")
    entries = 0
    with (platform / "journal.jsonl").open("w", encoding="utf-8") as sink:
        for entry in uow.journal.iter_entries(tenant):
            body = asdict(entry)
            body["case_id"] = str(entry.case_id) if entry.case_id else None
            body["recorded_at"] = utc_iso(entry.recorded_at)
            sink.write(json.dumps(body, ensure_ascii=False, sort_keys=True) + "\n")
            entries += 1
    uow.journal.append(
        tenant=tenant,
        kind="archive.exported",
        case_id=None,
        actor=actor.user_id,
        payload={"objects": result.objects, "packages": len(result.packages)},
        now=now,
    )
    return {
        "objects": result.objects,
        "packages": len(result.packages),
        "bytes": result.bytes_written,
        "journal_entries": entries,
    }


# Retention decisions and legal holds -------------------------------------------------------------


def pending_decisions(
    uow: UnitOfWork, tenant: str, *, today: date, limit: int = 200
) -> list[ArchivedPackage]:
    """Packages whose DUA has ended and that wait for the archivist's decision, the oldest
    DUA first (at most `limit`: a work queue, each decision brings the next one)."""
    return [p for p in uow.archives.due(tenant, today, limit=limit) if not p.legal_hold]


def _require_archivist(actor: Actor) -> None:
    if "archiviste" not in actor.roles and "system" not in actor.roles:
        raise Forbidden("Seul un archiviste peut décider du sort final d'un paquet.")


def _require_named_archivist(actor: Actor, what: str) -> None:
    """Holds and destructions are a person's act: an archivist of the tenant, never the
    platform itself (``system:*``)."""
    if "archiviste" not in actor.roles or actor.user_id.startswith("system:"):
        raise Forbidden(f"Seul un archiviste nommé de la collectivité peut {what}.")


def _extend(
    setup: ArchiveSetup, package: ArchivedPackage, years: int, today: date
) -> tuple[date, datetime, str]:
    if not 1 <= years <= 100:
        raise InvalidInput("La prolongation doit être comprise entre 1 et 100 ans.")
    # Counted from today when the DUA ended long ago: a lock must end in the future.
    new_end = add_years(max(package.dua_end, today), years)
    until = lock_end(new_end)
    bucket = setup.bucket(package.tenant)
    with setup.store() as store:
        for version in store.versions(bucket, package_key(package.package_id)):
            if not version.is_delete_marker:
                store.set_retention(bucket, version.key, version.version_id, retain_until=until)
    return new_end, until, f"DUA prolongée jusqu'au {new_end:%d/%m/%Y} (verrou prolongé)."


def decide_retention(
    uow: UnitOfWork,
    setup: ArchiveSetup,
    tenant: str,
    package_id: str,
    *,
    decision: str,
    actor: Actor,
    now: datetime,
    years: int | None = None,
    comment: str = "",
    visa: EliminationVisa | None = None,
) -> RetentionDecision:
    """The archivist's decision once a DUA has ended: `extend` (keep longer, lock extended),
    `transfer` (keep: handed to permanent archives) or `destroy` (by a named archivist, with
    the Archives départementales' `visa` d'élimination, only once every lock has expired;
    leaves a sealed, timestamped SEDA destruction record in the store and a journal entry)."""
    _require_archivist(actor)
    if decision == "destroy":
        _require_named_archivist(actor, "viser une élimination")
    package = _stored(uow, tenant, package_id)
    if package.state != ARCHIVED or package.dua_end >= now.date():
        raise InvalidInput("La durée d'utilité administrative de ce paquet n'est pas échue.")
    values: dict[str, Any] = {}
    payload: dict[str, Any] = {"package": package_id, "decision": decision}
    try:
        if decision == "extend":
            new_end, until, outcome = _extend(setup, package, years or 0, now.date())
            values = {"dua_end": new_end, "retain_until": until}
        elif decision == "transfer":
            values, outcome = {"state": TRANSFERRED}, "Versé aux archives définitives."
        elif decision == "destroy":
            if package.legal_hold:
                raise InvalidInput("Élimination refusée : le paquet est gelé pour litige.")
            if visa is None:
                raise InvalidInput(
                    "Élimination refusée : le visa d'élimination des Archives départementales "
                    "(référence, date, bordereau signé en PDF) est obligatoire."
                )
            record = _destroy(
                setup,
                package,
                actor=actor,
                now=now,
                tenant_name=_name(uow, tenant),
                visa=visa,
                motif=comment,
            )
            values = {"state": DESTROYED, "destroyed_at": now}
            outcome = f"Éliminé ; bordereau d'élimination {record['record_key']}."
            payload.update(record)
        else:
            raise InvalidInput(f"Décision inconnue « {decision} ».")
    except RetentionActiveError as exc:
        raise InvalidInput(str(exc)) from exc
    except ArchivingError as exc:
        raise ArchiveUnavailable(str(exc)) from exc
    result = RetentionDecision(
        uuid.uuid4(),
        tenant,
        package_id,
        decision,
        years,
        comment[:2000],
        actor.user_id,
        now,
        outcome,
    )
    uow.archives.update(tenant, package_id, now, **values)
    uow.archives.add_decision(result)
    uow.journal.append(
        tenant=tenant,
        kind=f"archive.{'destroyed' if decision == 'destroy' else 'retention_decided'}",
        case_id=package.case_id,
        actor=actor.user_id,
        payload={**payload, "outcome": outcome, "comment": comment[:500]},
        now=now,
    )
    return result


def _name(uow: UnitOfWork, tenant: str) -> str:
    found = uow.tenants.get(tenant)
    return found.name if found is not None else tenant


def _destroy(
    setup: ArchiveSetup,
    package: ArchivedPackage,
    *,
    actor: Actor,
    now: datetime,
    tenant_name: str,
    visa: EliminationVisa,
    motif: str,
) -> dict[str, Any]:
    approver = f"{actor.display_name} ({actor.user_id})" if actor.display_name else actor.user_id
    description = DestructionDescription(
        title=package.title,
        dua_rule=f"{package.dua_rule}, échue le {package.dua_end:%d/%m/%Y}",
        motif=motif[:500],
        approvers=(f"{approver}, archiviste",),
        package_seal_sha512=package.seal_sha512 or "inconnu",
    )
    with setup.store() as store:
        record = destroy_package(
            store,
            setup.bucket(package.tenant),
            package.package_id,
            visa=visa,
            description=description,
            sealer=setup.sealer,
            archival_agency=setup.archival_agency,
            originating_agency=Agency(package.tenant, tenant_name),
            record_retain_until=lock_end(add_years(now.date(), RECORD_RETENTION_YEARS)),
            now=now,
        )
    return {
        "record_key": record.record_key,
        "objects": [f"{key} {sha512}" for key, sha512 in record.objects],
        "notification_sha256": hashlib.sha256(record.notification).hexdigest(),
        "seal_sha512": hashlib.sha512(record.seal).hexdigest(),
        "visa_reference": visa.reference.strip(),
        "visa_date": visa.issued_on.isoformat(),
        "visa_sha512": hashlib.sha512(visa.bordereau_pdf).hexdigest(),
        "approved_by": actor.user_id,
    }


def destruction_record(uow: UnitOfWork, setup: ArchiveSetup, tenant: str, package_id: str) -> bytes:
    """The sealed destruction record of a destroyed package, as a zip to download and check
    offline (:func:`archiving.destruction.verify_destruction_record`)."""
    package = uow.archives.get(tenant, package_id)
    if package is None or package.state != DESTROYED:
        raise NotFound("Aucun bordereau d'élimination pour ce paquet.")
    try:
        with setup.store() as store:
            return destruction_record_zip(store, setup.bucket(tenant), package_id)
    except PackageNotFoundError as exc:
        raise NotFound(str(exc)) from exc
    except ArchivingError as exc:
        raise ArchiveUnavailable(str(exc)) from exc


def set_legal_hold(
    uow: UnitOfWork,
    setup: ArchiveSetup,
    tenant: str,
    package_id: str,
    *,
    on: bool,
    actor: Actor,
    now: datetime,
    reason: str = "",
) -> int:
    """Put (litigation) or lift a legal hold on every object version of a package, by a named
    archivist, with a reason; journaled."""
    _require_named_archivist(actor, "placer ou lever une conservation pour litige")
    reason = reason.strip()
    if not 3 <= len(reason) <= 500:
        raise InvalidInput("Indiquez le motif du gel ou de sa levée (3 à 500 caractères).")
    package = _stored(uow, tenant, package_id)
    try:
        with setup.store() as store:
            count = set_package_legal_hold(store, setup.bucket(tenant), package_id, on=on)
    except PackageNotFoundError as exc:
        raise NotFound(str(exc)) from exc
    except ArchivingError as exc:
        raise ArchiveUnavailable(str(exc)) from exc
    uow.archives.update(tenant, package_id, now, legal_hold=on)
    uow.journal.append(
        tenant=tenant,
        kind="archive.legal_hold",
        case_id=package.case_id,
        actor=actor.user_id,
        payload={"package": package_id, "on": on, "versions": count, "reason": reason},
        now=now,
    )
    return count
