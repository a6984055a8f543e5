"""Periodic journal seals: Merkle root of the new entries, RFC 3161 time, chained, stored locked.

The seal is made and stored with no transaction open; it is recorded (with its journal entry)
in one transaction of the runner. A seal stored by a run that crashed before recording it is
adopted by the next run, so a seal number never gets two different seals.
"""

from __future__ import annotations

import logging
from datetime import datetime

from archiving import (
    ArchivingError,
    JournalEntryRef,
    JournalSeal,
    ObjectStore,
    prepare_tenant_bucket,
    seal_journal,
    store_journal_seal,
)
from archiving.model import add_years
from archiving.store import StoredObject, journal_seal_key, lock_end
from engine.jobs.runner import TransactionRunner
from engine.persistence.uow import UnitOfWork, UnitOfWorkFactory
from engine.services.archives.setup import (
    RECORD_RETENTION_YEARS,
    ArchiveSetup,
    ArchiveUnavailable,
    archive_setup,
)
from engine.settings import Settings
from signatures import SignatureError

log = logging.getLogger(__name__)

MAX_ENTRIES_PER_SEAL = 50_000


def stored_seal(store: ObjectStore, bucket: str, tenant: str, number: int) -> JournalSeal | None:
    """The seal stored under this number, if any (an earlier run may have stored it unrecorded)."""
    key = journal_seal_key(tenant, number)
    if store.stat(bucket, key) is None:
        return None
    with store.open(bucket, key) as stream:
        return JournalSeal.from_json(stream.read(1024 * 1024))


def _unsealed(uow: UnitOfWork, tenant: str) -> tuple[JournalSeal | None, list[JournalEntryRef]]:
    """The last seal and the entries written after it (at most one seal's worth)."""
    previous = uow.archives.last_seal(tenant)
    after = previous.last_seq if previous is not None else 0
    head, _ = uow.journal.head(tenant)
    entries: list[JournalEntryRef] = []
    if head <= after:
        return previous, entries
    for entry in uow.journal.iter_entries(tenant, after_seq=after):
        entries.append(JournalEntryRef(entry.seq, entry.hash))
        if len(entries) >= MAX_ENTRIES_PER_SEAL:
            break
    return previous, entries


def _record_seal(
    uow: UnitOfWork,
    tenant: str,
    seal: JournalSeal,
    stored: StoredObject,
    now: datetime,
    second: StoredObject | str | None = None,
) -> None:
    uow.archives.add_seal(seal, object_key=stored.key, version_id=stored.version_id)
    uow.journal.append(
        tenant=tenant,
        kind="journal.sealed",
        case_id=None,
        actor="system:archives",
        payload={
            "number": seal.number,
            "first_seq": seal.first_seq,
            "last_seq": seal.last_seq,
            "merkle_root": seal.merkle_root,
            "digest": seal.digest,
            **_second_payload(second),
        },
        now=now,
    )


def _second_payload(second: StoredObject | str | None) -> dict[str, str]:
    if second is None:
        return {}
    if isinstance(second, str):
        return {"secondary": second}
    return {"secondary_version_id": second.version_id}


def seal_tenant_journal(
    uow_factory: UnitOfWorkFactory, setup: ArchiveSetup, tenant: str, *, now: datetime
) -> JournalSeal | None:
    """Seal the tenant's journal entries written since its last seal; None when none are new."""
    runner = TransactionRunner(uow_factory)
    previous, entries = runner.read(lambda uow: _unsealed(uow, tenant))
    if not entries:
        return None
    bucket = setup.bucket(tenant)
    number = previous.number + 1 if previous is not None else 1
    with setup.store() as store:
        prepare_tenant_bucket(store, bucket)
        seal = stored_seal(store, bucket, tenant, number)
        if seal is None or seal.previous != (previous.digest if previous else ""):
            seal = seal_journal(
                entries, scope=tenant, previous=previous, timestamper=setup.timestamper, now=now
            )
        until = lock_end(add_years(now.date(), RECORD_RETENTION_YEARS))
        stored = store_journal_seal(store, bucket, seal, retain_until=until)
    second = _second_copy(setup, tenant, seal, until)
    runner.write(_record_seal, tenant, seal, stored, now, second)
    return seal


def _second_copy(
    setup: ArchiveSetup, tenant: str, seal: JournalSeal, until: datetime
) -> StoredObject | str | None:
    """The seal's copy on the second store, under the same lock, read back; the reason (French)
    when that store refuses or cannot be reached: the seal counts once in the primary (the
    journal's protection does not wait), the audit makes the missing copy from it, journaled."""
    if setup.secondary_s3 is None:
        return None
    try:
        with setup.secondary_store() as second:
            target = setup.secondary_bucket(tenant)
            prepare_tenant_bucket(second, target)
            return store_journal_seal(second, target, seal, retain_until=until)
    except ArchivingError as exc:
        log.warning("copie secondaire du sceau de journal de %s reportée : %s", tenant, exc)
        return f"copie secondaire non faite, l'audit la fera : {exc}"


def seal_all_journals(uow_factory: UnitOfWorkFactory, setup: ArchiveSetup, *, now: datetime) -> int:
    """The beat job: seal every tenant's new entries; a store outage waits for the next beat."""
    tenants = TransactionRunner(uow_factory).read(lambda uow: [t.siren for t in uow.tenants.all()])
    sealed = 0
    for tenant in tenants:
        try:
            sealed += seal_tenant_journal(uow_factory, setup, tenant, now=now) is not None
        except (ArchivingError, SignatureError) as exc:
            log.warning("scellement du journal de %s reporté : %s", tenant, exc)
    return sealed


def seal_when_possible(
    uow_factory: UnitOfWorkFactory,
    settings: Settings,
    cache: dict[str, object],
    tenant: str,
    *,
    now: datetime,
) -> JournalSeal | None:
    """Seal right after an event worth sealing (tenant created, package archived). A store or
    timestamp outage is logged, not raised: the event is committed and the periodic seal
    covers it later. `cache` keeps the archive setup (keys loaded once per process)."""
    setup = cache.get("archive_setup")
    try:
        if not isinstance(setup, ArchiveSetup):
            setup = archive_setup(settings)
            cache["archive_setup"] = setup
        return seal_tenant_journal(uow_factory, setup, tenant, now=now)
    except ArchiveUnavailable:
        return None
    except (ArchivingError, SignatureError) as exc:
        log.warning("scellement du journal de %s reporté : %s", tenant, exc)
        return None
