"""RGPD purge of closed cases: the personal data a procedure declares leaves the platform once its
retention event and delay have passed (the archive's sealed packages are never touched).

What is anonymised: the declared keys on every task of the case's state, their copies elsewhere
in the state, in the case's jobs (mail recipients, rendering contexts) and their remembered
effects; the bytes of the working documents those keys referred to (the document rows stay,
since journal entries point at them). The journal keeps references only (hashes of data, ids):
the purge adds one entry per case naming the keys and documents it erased, never their values,
so the hash chain and its seals still verify.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from engine.domain.errors import Conflict
from engine.domain.model import Actor, CaseStatus
from engine.domain.personal_data import PersonalDataDeclaration, PersonalField
from engine.persistence.personal_data_repositories import ALL_DONE
from engine.persistence.uow import UnitOfWork
from engine.runtime.anonymise import scrub
from engine.services.steps import load_case, load_process, save_loaded

__all__ = [
    "PURGE_ACTOR",
    "PURGE_KIND",
    "DuePurge",
    "PurgePage",
    "PurgedCase",
    "due_purges",
    "purge_case",
    "record_page",
]

PURGE_KIND = "case.personal_data_purged"
PURGE_ACTOR = Actor.system("rgpd")
ERASED_DOCUMENT_NAME = "document effacé (RGPD).pdf"


@dataclass(frozen=True)
class DuePurge:
    """A closed case with declared personal data whose delay has passed."""

    case_id: uuid.UUID
    reference: str
    procedure: str
    closed_at: datetime
    fields: tuple[PersonalField, ...]
    next_due: datetime | None
    """When the case's other declared keys fall due; None when these are the last ones."""

    @property
    def complete(self) -> bool:
        return self.next_due is None


@dataclass(frozen=True)
class PurgedCase:
    case_id: uuid.UUID
    reference: str
    paths: tuple[str, ...]
    documents: int


@dataclass
class PurgePage:
    """One page of a tenant's closed cases, as the purge sees them."""

    due: list[DuePurge] = field(default_factory=list)
    nothing: list[uuid.UUID] = field(default_factory=list)
    """Cases whose procedure declares no personal data key: never to be read again."""
    later: dict[uuid.UUID, datetime] = field(default_factory=dict)
    """Cases with nothing due yet: when their next key falls due."""
    last: uuid.UUID | None = None
    """The last case id read, to read the next page after it (None at the end)."""


def declaration_of(uow: UnitOfWork, spec_hash: str) -> PersonalDataDeclaration | None:
    return load_process(uow, spec_hash).bundle.personal_data


def due_purges(
    uow: UnitOfWork, tenant: str, *, now: datetime, after: uuid.UUID | None, limit: int
) -> PurgePage:
    """One page of the tenant's closed cases still to be read (`now`: the tenant's time)."""
    candidates = uow.personal_data.closed_cases(tenant, now=now, after=after, limit=limit)
    page = PurgePage(last=candidates[-1].id if len(candidates) == limit else None)
    for candidate in candidates:
        declaration = declaration_of(uow, candidate.spec_hash)
        if declaration is None or not declaration.fields:
            page.nothing.append(candidate.id)
            continue
        remaining = [
            (f, f.retention.due(candidate.summary, candidate.closed_at))
            for f in declaration.fields
            if f.path not in candidate.purged
        ]
        found = tuple(f for f, due_at in remaining if due_at <= now)
        later = [due_at for _f, due_at in remaining if due_at > now]
        next_due = min(later) if later else None
        if found:
            page.due.append(
                DuePurge(
                    candidate.id,
                    candidate.reference,
                    candidate.procedure,
                    candidate.closed_at,
                    found,
                    next_due,
                )
            )
        elif next_due is not None:
            page.later[candidate.id] = next_due
        else:
            page.nothing.append(candidate.id)  # every key already done
    return page


def record_page(uow: UnitOfWork, tenant: str, page: PurgePage, *, now: datetime) -> None:
    """Remember what reading the page found: cases never to read again, and when to read the
    others again (their next key's due time)."""
    for case_id in page.nothing:
        uow.personal_data.record_purged(tenant, case_id, [ALL_DONE], closed_at=now, now=now)
    uow.personal_data.set_next_due(tenant, dict(page.later))


def purge_case(uow: UnitOfWork, tenant: str, due: DuePurge, *, now: datetime) -> PurgedCase:
    """Anonymise the due fields of one closed case, erase the documents they referred to,
    record it and journal it (keys and document ids, never the values)."""
    loaded = load_case(uow, tenant, due.case_id)
    case = loaded.case
    if case.status not in (CaseStatus.COMPLETED, CaseStatus.CANCELLED):
        raise Conflict(f"Le dossier {case.reference} n'est pas clos : rien n'est effacé.")
    paths = [f.path for f in due.fields]
    erased = loaded.runtime.anonymise(paths)
    save_loaded(uow, loaded, now=now, status=case.status)
    documents = []
    for document_id, _sha256 in sorted(erased.documents.items()):
        try:
            key = uuid.UUID(document_id)
        except ValueError:
            continue
        if uow.personal_data.erase_document(
            tenant, key, case_id=case.id, now=now, name=ERASED_DOCUMENT_NAME
        ):
            documents.append(document_id)
    if erased.values:
        texts = set(erased.values)
        uow.personal_data.scrub_case_records(tenant, case.id, lambda v: scrub(v, texts))
    done = [*paths, ALL_DONE] if due.complete else paths
    uow.personal_data.record_purged(tenant, case.id, done, closed_at=due.closed_at, now=now)
    uow.personal_data.set_next_due(tenant, {case.id: due.next_due})
    uow.journal.append(
        tenant=tenant,
        kind=PURGE_KIND,
        case_id=case.id,
        actor=PURGE_ACTOR.user_id,
        payload={
            "reference": case.reference,
            "champs": sorted(paths),
            "documents": documents,
            "message": (
                f"Données personnelles anonymisées ({len(paths)} donnée(s), "
                f"{len(documents)} document(s) effacé(s)) au terme de leur durée de conservation."
            ),
        },
        now=now,
    )
    return PurgedCase(case.id, case.reference, tuple(sorted(paths)), len(documents))
