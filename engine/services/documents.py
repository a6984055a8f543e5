"""Working documents: upload with checks, read, and link to a case."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from engine.domain.errors import Conflict, InvalidInput, NotFound
from engine.domain.model import Actor, CaseStatus, Document
from engine.persistence.uow import UnitOfWork
from signatures import DocumentRefusedError
from signatures.intake import check_untrusted_pdf

PDF = "application/pdf"
_UNSAFE = re.compile(r"[^\w .,()'+-]+", re.UNICODE)


NAME_LIMIT = 200
SUFFIXES = {"signed": "-signe", "sealed": "-scelle"}
"""What a signed or sealed copy adds to its original's name: a person can tell them apart."""


def clean_name(name: str) -> str:
    """A file name safe to show and to put in a Content-Disposition header."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", base).strip(" .") or "document.pdf"
    if len(base) <= NAME_LIMIT:
        return base
    stem, dot, extension = base.rpartition(".")
    if not dot or len(extension) > 10:
        return base[:NAME_LIMIT]
    return f"{stem[: NAME_LIMIT - 1 - len(extension)]}.{extension}"  # the extension is kept


def derived_name(name: str, kind: str) -> str:
    """`deliberation.pdf` -> `deliberation-signe.pdf` for a signed copy (`-scelle` for a seal);
    a copy signed again keeps one suffix; other kinds keep their name."""
    suffix = SUFFIXES.get(kind)
    if suffix is None:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, "pdf"
    for known in SUFFIXES.values():
        stem = stem.removesuffix(known)
    stem = stem[: NAME_LIMIT - len(suffix) - len(extension) - 1]
    return f"{stem}{suffix}.{extension}"


def _check_size_and_type(content: bytes, max_bytes: int) -> None:
    """The checks that need no parsing: not empty, within the limit, a PDF header."""
    if not content:
        raise InvalidInput("Le fichier est vide.")
    if len(content) > max_bytes:
        raise InvalidInput(
            f"Fichier trop volumineux : {len(content) // 1_000_000} Mo "
            f"(maximum {max_bytes // 1_000_000} Mo)."
        )
    if content.lstrip()[:5] != b"%PDF-":
        raise InvalidInput("Seuls les fichiers PDF sont acceptés.")


@dataclass(frozen=True)
class CheckedUpload:
    """An uploaded file that passed the intake, ready to be stored."""

    name: str
    content: bytes
    """What is stored: the file as sent, or without its active content (agents' uploads)."""
    removed: tuple[str, ...]
    """Active content removed, in French (empty when none)."""


def check_upload(name: str, content: bytes, *, max_bytes: int, from_citizen: bool) -> CheckedUpload:
    """The one intake of every upload (API, agent pages, citizen form and pieces).

    Every parse runs in a bounded child process (`signatures.sandbox`). Active content is
    refused from citizens; from agents it is removed (in that child, with pikepdf) and
    reported, except in a signed PDF, which cannot be cleaned without breaking its signatures.
    Raises :class:`InvalidInput` with a French message, nothing being written.
    """
    _check_size_and_type(content, max_bytes)
    try:
        checked = check_untrusted_pdf(
            content, max_bytes=max_bytes, remove_active_content=not from_citizen
        )
    except DocumentRefusedError as exc:
        raise InvalidInput(str(exc)) from exc
    found = ", ".join(checked.active_content)
    if found and from_citizen:
        raise InvalidInput(
            f"Ce PDF contient du contenu actif ({found}) : il ne peut pas être accepté. "
            "Enregistrez-le de nouveau en PDF simple (par exemple avec « Imprimer en PDF »)."
        )
    if found and checked.cleaned is None:
        raise InvalidInput(
            f"Ce PDF signé contient du contenu actif ({found}) : le retirer invaliderait ses "
            "signatures. Demandez à son auteur une version sans script."
        )
    return CheckedUpload(
        name=name, content=checked.cleaned or content, removed=checked.active_content
    )


def receive_upload(
    uow: UnitOfWork,
    upload: CheckedUpload,
    *,
    tenant: str,
    actor: Actor,
    now: datetime,
    max_bytes: int,
    case_id: uuid.UUID | None = None,
) -> Document:
    """Store a checked upload; removed active content is journaled with the document."""
    document = store_document(
        uow,
        tenant=tenant,
        name=upload.name,
        content=upload.content,
        actor=actor,
        now=now,
        max_bytes=max_bytes,
        case_id=case_id,
    )
    if upload.removed:
        uow.journal.append(
            tenant=tenant,
            kind="document.active_content_removed",
            case_id=case_id,
            actor=actor.user_id,
            payload={
                "message": f"Contenu actif retiré de « {document.name} » : "
                + ", ".join(upload.removed),
                "document": str(document.id),
                "sha256": document.sha256,
                "removed": list(upload.removed),
            },
            now=now,
        )
    return document


def store_document(
    uow: UnitOfWork,
    *,
    tenant: str,
    name: str,
    content: bytes,
    actor: Actor | None = None,
    actor_id: str | None = None,
    now: datetime,
    max_bytes: int,
    kind: str = "upload",
    case_id: uuid.UUID | None = None,
    derived_from: uuid.UUID | None = None,
) -> Document:
    """Store a PDF the platform produced or the intake checked (:func:`check_upload`)."""
    if uow.tenants.get(tenant) is None:
        raise InvalidInput("Collectivité inconnue.")
    _check_size_and_type(content, max_bytes)
    document = Document(
        id=uuid.uuid4(),
        tenant=tenant,
        name=clean_name(name),
        media_type=PDF,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        kind=kind,
        created_by=actor.user_id if actor is not None else (actor_id or "system"),
        created_at=now,
        case_id=case_id,
        derived_from=derived_from,
    )
    uow.documents.add(document, content)
    return document


def add_case_document(
    uow: UnitOfWork,
    *,
    tenant: str,
    case_id: uuid.UUID,
    name: str,
    content: bytes,
    actor: Actor,
    now: datetime,
    max_bytes: int,
) -> Document:
    """A clerk's upload to a running case, through the intake (:func:`check_upload`)."""
    checked = check_upload(name, content, max_bytes=max_bytes, from_citizen=False)
    return add_checked_case_document(
        uow, checked, tenant=tenant, case_id=case_id, actor=actor, now=now, max_bytes=max_bytes
    )


def add_checked_case_document(
    uow: UnitOfWork,
    upload: CheckedUpload,
    *,
    tenant: str,
    case_id: uuid.UUID,
    actor: Actor,
    now: datetime,
    max_bytes: int,
) -> Document:
    """A checked upload added to a running case: refused before anything is written when the
    case no longer runs."""
    case = uow.cases.get(tenant, case_id)
    if case.status is not CaseStatus.RUNNING:
        raise Conflict("Ce dossier n'est plus en cours : on ne peut plus y ajouter de document.")
    document = receive_upload(
        uow, upload, tenant=tenant, actor=actor, now=now, max_bytes=max_bytes, case_id=case_id
    )
    uow.journal.append(
        tenant=tenant,
        kind="document.added",
        case_id=case_id,
        actor=actor.user_id,
        payload={"title": document.name, "document": str(document.id), "sha256": document.sha256},
        now=now,
    )
    return document


ERASED_SHA256 = hashlib.sha256(b"").hexdigest()
"""What an erased document's row names once the RGPD purge removed its bytes."""


def document_from_reference(uow: UnitOfWork, tenant: str, reference: object) -> Document:
    """The document a case datum refers to, checked against its recorded digest."""
    if not isinstance(reference, dict) or "id" not in reference:
        raise InvalidInput("Référence de document invalide.")
    try:
        document_id = uuid.UUID(str(reference["id"]))
    except ValueError as exc:
        raise InvalidInput("Référence de document invalide.") from exc
    document = uow.documents.get(tenant, document_id)
    expected = reference.get("sha256")
    if expected and document.size == 0 and document.sha256 == ERASED_SHA256:
        raise NotFound("Ce document a été effacé au terme de sa durée de conservation (RGPD).")
    if expected and expected != document.sha256:
        raise InvalidInput("Le document ne correspond pas à son empreinte enregistrée.")
    return document
