"""Retention decisions at the end of a DUA: extend, transfer, destroy (with the sealed record)."""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from datetime import date, datetime
from typing import Any

from archiving import (
    Agency,
    ArchivingError,
    ObjectStore,
    PackageNotFoundError,
    RetentionActiveError,
    StorageUnavailable,
    destroy_package,
    prepare_tenant_bucket,
)
from archiving.destruction import (
    DestructionDescription,
    EliminationVisa,
    destruction_record_zip,
)
from archiving.model import add_years
from archiving.store import lock_end, package_copies
from engine.domain.archives import (
    ARCHIVED,
    DESTROYED,
    ArchivedPackage,
    RetentionDecision,
)
from engine.domain.errors import Forbidden, InvalidInput, NotFound
from engine.domain.model import Actor
from engine.persistence.uow import UnitOfWork
from engine.services.archives.search import stored_package
from engine.services.archives.setup import (
    RECORD_RETENTION_YEARS,
    ArchiveSetup,
    ArchiveUnavailable,
)
from engine.services.archives.transfer import request_transfer
from engine.services.tenant_settings import read_settings


def pending_decisions(
    uow: UnitOfWork, tenant: str, *, today: date, limit: int = 200
) -> list[ArchivedPackage]:
    """Packages whose DUA has ended and that wait for the archivist's decision, the oldest
    DUA first (at most `limit`: a work queue, each decision brings the next one)."""
    return [p for p in uow.archives.due(tenant, today, limit=limit) if not p.legal_hold]


def _require_archivist(actor: Actor) -> None:
    if "archiviste" not in actor.roles and "system" not in actor.roles:
        raise Forbidden("Seul un archiviste peut décider du sort final d'un paquet.")


def require_named_archivist(actor: Actor, what: str) -> None:
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
    with setup.store() as store:
        _extend_locks(store, setup.bucket(package.tenant), package.package_id, until)
    if setup.secondary_s3 is not None:  # the second copy's lock follows, or nothing is decided
        with setup.secondary_store() as second:
            _extend_locks(second, setup.secondary_bucket(package.tenant), package.package_id, until)
    return new_end, until, f"DUA prolongée jusqu'au {new_end:%d/%m/%Y} (verrou prolongé)."


def _extend_locks(store: ObjectStore, bucket: str, package_id: str, until: datetime) -> None:
    for version in package_copies(store, bucket, package_id):  # renewed copies too
        if not version.is_delete_marker:
            store.set_retention(bucket, version.key, version.version_id, retain_until=until)


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
        require_named_archivist(actor, "viser une élimination")
    package = stored_package(uow, tenant, package_id)
    if package.state != ARCHIVED or package.dua_end >= now.date():
        raise InvalidInput("La durée d'utilité administrative de ce paquet n'est pas échue.")
    values: dict[str, Any] = {}
    payload: dict[str, Any] = {"package": package_id, "decision": decision}
    try:
        if decision == "extend":
            new_end, until, outcome = _extend(setup, package, years or 0, now.date())
            values = {"dua_end": new_end, "retain_until": until}
        elif decision == "transfer":  # the state changes when the SAE accepts (sae_polling)
            outcome = request_transfer(uow, tenant, package_id, actor=actor, now=now).outcome
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
                archival_agency=_archives_service(uow, tenant, setup),
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


def _archives_service(uow: UnitOfWork, tenant: str, setup: ArchiveSetup) -> Agency:
    """The archives service responsible for the tenant (its settings), as its packages name
    it; the platform's when the tenant has not set one."""
    service = read_settings(uow, tenant).archives
    if service is None or not service.identifiant:
        return setup.archival_agency
    return Agency(service.identifiant, service.nom)


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
    archival_agency: Agency,
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
    with setup.store() as store, contextlib.ExitStack() as stack:
        secondary = None
        if setup.secondary_s3 is not None:  # both copies go, and both keep the record
            second = stack.enter_context(setup.secondary_store())
            secondary = (second, setup.secondary_bucket(package.tenant))
            try:
                prepare_tenant_bucket(*secondary)
            except StorageUnavailable as exc:
                raise StorageUnavailable(
                    f"élimination impossible, la copie secondaire est injoignable : {exc}"
                ) from exc
        record = destroy_package(
            store,
            setup.bucket(package.tenant),
            package.package_id,
            visa=visa,
            description=description,
            sealer=setup.sealer,
            archival_agency=archival_agency,
            originating_agency=Agency(package.tenant, tenant_name),
            record_retain_until=lock_end(add_years(now.date(), RECORD_RETENTION_YEARS)),
            now=now,
            secondary=secondary,
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
        with setup.reading_store(tenant) as (store, bucket):
            return destruction_record_zip(store, bucket, package_id)
    except PackageNotFoundError as exc:
        raise NotFound(str(exc)) from exc
    except ArchivingError as exc:
        raise ArchiveUnavailable(str(exc)) from exc
