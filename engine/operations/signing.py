"""`signatures.sign` and `signatures.seal`: PAdES signatures of case documents, in a worker.

A signature is made only for the élu named by the model (`signataire`, taken from the
`<task>_par` the engine wrote when that person completed a task of this case), only if that
person is an élu of the tenant and did complete a task of this very case: no model, operator or
administrator can make the key of someone who did not act sign anything.

A deputy acting by delegation (`pour`: the person they stood in for, checked against the
journal) signs with their OWN key; the quality and reason say "Pour <qualité>, par délégation,
<deputy>". The seal is the collectivité's, with no signatory to check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import signatures
from engine.domain.model import Document
from engine.operations.base import (
    Operation,
    OperationContext,
    OperationFailed,
    OperationRetry,
    param,
)
from engine.persistence.uow import UnitOfWork
from engine.services.documents import derived_name, document_from_reference, store_document
from engine.services.signing_setup import SigningSetup, signing_setup
from signatures.errors import RevocationUnavailableError, SignatureError, TimestampError

if TYPE_CHECKING:
    from signatures import KeySource, SignedPdf, SignRequest

SIGNATURE_BOX = (320, 40, 565, 120)
"""Visible block at the bottom right of the last page (A4 portrait, points)."""


def _login(value: Any) -> str:
    text = str(value or "")
    if not text.startswith("user:") or len(text) <= 5:
        raise OperationFailed(
            "signature_refusee",
            "Signataire inconnu : la tâche de signature doit avoir été faite par un élu.",
        )
    return text[5:]


LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")
"""The values of `signatures.PadesLevel` (a test keeps them equal), spelled here so that checking
a procedure's `niveau` when it is deployed does not load pyHanko."""


def _level(value: Any) -> str:
    level = str(value or "B-LTA")
    if level not in LEVELS:
        raise OperationFailed(
            "signature_refusee",
            f"Niveau de signature inconnu « {value} » ({', '.join(LEVELS)}).",
        )
    return level


def _text(value: Any) -> str:
    return str(value or "")


@dataclass(frozen=True)
class SealParams:
    document: Any = param(required=True)
    """The document to seal (a case datum referring to it)."""
    niveau: str = param(_level)
    """One of LEVELS (PAdES baseline level), B-LTA when not given."""
    qualite: str = param(_text)
    raison: str = param(_text)


@dataclass(frozen=True)
class SignParams(SealParams):
    signataire: str = param(_login, required=True)
    """`user:<login>` of the élu who completed the signing task (from `<task>_par`)."""
    pour: str | None = param(lambda value: _login(value) if value else None)
    """`user:<login>` of the élu the signatory stood in for, when acting by delegation."""


@dataclass(frozen=True)
class SigningPlan:
    original: Document
    content: bytes
    request: SignRequest
    trust_roots: tuple[bytes, ...]
    kind: str
    """signed or sealed: the stored copy's kind."""
    actor: str
    quality: str
    """The quality the case receives (the seal's default quality shows only in the PDF)."""
    journal_extra: dict[str, str]
    max_bytes: int


@dataclass(frozen=True)
class Signed:
    plan: SigningPlan
    signed: SignedPdf
    valid: bool


def _check_signatory(uow: UnitOfWork, ctx: OperationContext, login: str) -> str:
    row = uow.users.by_username(login)
    if row is None or not row.active:
        raise OperationFailed("signature_refusee", f"Utilisateur « {login} » inconnu ou désactivé.")
    if "elu" not in uow.users.roles(row.id, ctx.tenant):
        raise OperationFailed(
            "signature_refusee", f"« {row.display_name} » n'est pas élu de cette collectivité."
        )
    acted = any(
        e.kind == "task.completed" and e.actor == f"user:{login}"
        for e in uow.journal.for_case(ctx.tenant, ctx.case_id)
    )
    if not acted:
        raise OperationFailed(
            "signature_refusee",
            f"« {row.display_name} » n'a pas validé de tâche de ce dossier : signature refusée.",
        )
    return str(row.display_name)


def _delegation(
    uow: UnitOfWork, ctx: OperationContext, login: str, delegator: str | None
) -> str | None:
    """The delegator's name when the signatory acted for them in this case, else None."""
    if delegator is None:
        return None
    acted_for = any(
        e.kind == "task.completed"
        and e.actor == f"user:{login}"
        and e.payload.get("pour") == f"user:{delegator}"
        for e in uow.journal.for_case(ctx.tenant, ctx.case_id)
    )
    if not acted_for:
        raise OperationFailed(
            "signature_refusee",
            f"« {login} » n'a pas agi par délégation de « {delegator} » dans ce dossier.",
        )
    row = uow.users.by_username(delegator)
    return str(row.display_name) if row is not None else delegator


def _setup(ctx: OperationContext) -> SigningSetup:
    try:
        return ctx.resources.get(signing_setup)
    except (OSError, ValueError, SignatureError) as exc:
        raise OperationRetry(f"PKI indisponible : {exc}") from exc


def _document(uow: UnitOfWork, ctx: OperationContext, params: SealParams) -> tuple[Document, bytes]:
    original = document_from_reference(uow, ctx.tenant, params.document)
    return original, uow.documents.content(original)


def _request(
    ctx: OperationContext, config: SigningSetup, params: SealParams, **fields: Any
) -> SignRequest:
    return signatures.SignRequest(
        level=signatures.PadesLevel(params.niveau),
        timestamp_url=config.timestamp_url,
        trust_roots=config.trust_roots,
        max_bytes=ctx.settings.max_upload_bytes,
        **fields,
    )


def _prepare_sign(uow: UnitOfWork, ctx: OperationContext, params: SignParams) -> SigningPlan:
    name = _check_signatory(uow, ctx, params.signataire)
    delegator = _delegation(uow, ctx, params.signataire, params.pour)
    original, content = _document(uow, ctx, params)
    config = _setup(ctx)
    quality, reason, extra = params.qualite, params.raison, {}
    if delegator is not None:
        title = quality[:1].lower() + quality[1:] if quality else delegator
        quality = f"Pour {title}, par délégation, {name}"
        reason = f"{quality} : {reason}" if reason else quality
        extra = {"pour": f"user:{params.pour}", "mention": quality}
    key: KeySource = config.key_for(params.signataire, name)
    request = _request(
        ctx,
        config,
        params,
        key=key,
        signer_display_name=name,
        quality=quality,
        reason=reason,
        visible=signatures.VisibleField(page=-1, box=SIGNATURE_BOX),
    )
    return SigningPlan(
        original,
        content,
        request,
        config.trust_roots,
        kind="signed",
        actor=f"user:{params.signataire}",
        quality=quality,
        journal_extra=extra,
        max_bytes=ctx.settings.max_upload_bytes * 2,
    )


def _prepare_seal(uow: UnitOfWork, ctx: OperationContext, params: SealParams) -> SigningPlan:
    original, content = _document(uow, ctx, params)
    config = _setup(ctx)
    request = _request(
        ctx,
        config,
        params,
        key=config.seal_key,
        signer_display_name=config.organisation,
        quality=params.qualite or "Cachet de la collectivité",
        reason=params.raison,
        visible=None,
    )
    return SigningPlan(
        original,
        content,
        request,
        config.trust_roots,
        kind="sealed",
        actor="system:cachet",
        quality=params.qualite,
        journal_extra={},
        max_bytes=ctx.settings.max_upload_bytes * 2,
    )


def _sign(plan: SigningPlan) -> Signed:
    try:
        signed = signatures.sign_pdf(plan.content, plan.request)
    except (TimestampError, RevocationUnavailableError) as exc:
        raise OperationRetry(str(exc)) from exc
    except SignatureError as exc:
        raise OperationFailed("signature_refusee", str(exc)) from exc
    # The act's first signature is checked where it was just written (see
    # signatures.validate_new_signature); a document signed before is validated in full.
    report = signatures.validate_new_signature(
        signed, signatures.ValidationOptions(trust_roots=plan.trust_roots)
    )
    return Signed(plan, signed, report.valid)


def _record(uow: UnitOfWork, ctx: OperationContext, outcome: Signed) -> dict[str, Any]:
    plan, signed = outcome.plan, outcome.signed
    document = store_document(
        uow,
        tenant=ctx.tenant,
        name=derived_name(plan.original.name, plan.kind),
        content=signed.pdf,
        actor_id="system:signatures",
        now=ctx.now,
        max_bytes=plan.max_bytes,
        kind=plan.kind,
        case_id=ctx.case_id,
        derived_from=plan.original.id,
    )
    uow.journal.append(
        tenant=ctx.tenant,
        kind=f"document.{plan.kind}",
        case_id=ctx.case_id,
        actor=plan.actor,
        payload={
            "document": str(document.id),
            "sha256": document.sha256,
            "original_sha256": plan.original.sha256,
            "level": signed.level.value,
            "certificate": signed.signer_certificate_name,
            "valid": outcome.valid,
            **plan.journal_extra,
        },
        now=ctx.now,
    )
    return {
        "document": document.reference(),
        "validation": {
            "valide": outcome.valid,
            "niveau": signed.level.value,
            "signataire": signed.signer_certificate_name,
        },
        "qualite": plan.quality,
    }


SIGN = Operation(
    name="signatures.sign",
    params=SignParams,
    prepare=_prepare_sign,
    act=_sign,
    record=_record,
    queue="signing",
    description="Signature PAdES d'un document par l'élu qui l'a validé",
)
SEAL = Operation(
    name="signatures.seal",
    params=SealParams,
    prepare=_prepare_seal,
    act=_sign,
    record=_record,
    queue="signing",
    description="Cachet de la collectivité sur un document",
)

OPERATIONS = (SIGN, SEAL)
