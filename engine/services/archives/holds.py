"""Legal holds (conservation pour litige) on every object version of a package."""

from __future__ import annotations

from datetime import datetime

from archiving import (
    ArchivingError,
    PackageNotFoundError,
    StorageUnavailable,
    set_package_legal_hold,
)
from engine.domain.errors import InvalidInput, NotFound
from engine.domain.model import Actor
from engine.persistence.uow import UnitOfWork
from engine.services.archives.decisions import require_named_archivist
from engine.services.archives.search import stored_package
from engine.services.archives.setup import (
    ArchiveSetup,
    ArchiveUnavailable,
)


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
    archivist, with a reason; journaled. Goes through the legal-hold identity only."""
    require_named_archivist(actor, "placer ou lever une conservation pour litige")
    reason = reason.strip()
    if not 3 <= len(reason) <= 500:
        raise InvalidInput("Indiquez le motif du gel ou de sa levée (3 à 500 caractères).")
    package = stored_package(uow, tenant, package_id)
    if setup.secondary_s3 is not None and setup.secondary_holds_s3 is None:
        with setup.secondary_holds_store():  # refused: one copy only would be held
            pass
    try:
        with setup.holds_store() as store:  # never the writing identity: it is denied holds
            count = set_package_legal_hold(store, setup.bucket(tenant), package_id, on=on)
    except PackageNotFoundError as exc:
        raise NotFound(str(exc)) from exc
    except StorageUnavailable as exc:
        raise ArchiveUnavailable(str(exc)) from exc
    except ArchivingError as exc:
        raise ArchiveUnavailable(
            f"le stockage a refusé le gel à l'identité de gel (vérifiez ses clés et ses droits) : {exc}"
        ) from exc
    second = _on_second_copy(setup, tenant, package_id, on=on)
    uow.archives.update(tenant, package_id, now, legal_hold=on)
    uow.journal.append(
        tenant=tenant,
        kind="archive.legal_hold",
        case_id=package.case_id,
        actor=actor.user_id,
        payload={
            "package": package_id,
            "on": on,
            "versions": count,
            **({"secondary_versions": second} if second is not None else {}),
            "reason": reason,
        },
        now=now,
    )
    return count


def _on_second_copy(setup: ArchiveSetup, tenant: str, package_id: str, *, on: bool) -> int | None:
    """The same hold on the second copy (its own legal-hold identity); None with one copy.

    A hold applies to both copies or is not recorded: when the second store refuses or cannot
    be reached the archivist is told (the primary's versions keep what was just set) and does
    it again once it is back; destruction checks the holds of both copies anyway."""
    if setup.secondary_s3 is None:
        return None
    done = "posé" if on else "levé"
    try:
        with setup.secondary_holds_store() as second:
            return set_package_legal_hold(second, setup.secondary_bucket(tenant), package_id, on=on)
    except ArchivingError as exc:
        raise ArchiveUnavailable(
            f"gel {done} sur la copie primaire mais pas sur la copie secondaire ({exc}) : "
            "recommencez quand le stockage secondaire sera joignable et complet."
        ) from exc
