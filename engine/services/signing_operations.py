"""`signatures.sign` and `signatures.seal`: PAdES signatures of case documents, in a worker.

A deputy acting by delegation (`pour`: the person they stood in for, checked against the
journal) signs with their OWN key; the quality and reason say "Pour <qualité>, par délégation,
<deputy>".

A signature is made only for the élu named by the model (`signataire`, taken from the
`<task>_par` the engine wrote when that person completed a task of this case), only if that
person is an élu of the tenant and did complete a task of this very case: no model, operator or
administrator can make the key of someone who did not act sign anything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.domain.model import Document
from engine.persistence.uow import UnitOfWork
from engine.services.documents import derived_name, document_from_reference, store_document
from engine.services.operations import (
    OperationContext,
    OperationFailed,
    OperationRegistry,
    OperationRetry,
)
from engine.settings import Settings
from engine.signing import SigningSetup, signing_setup
from signatures import (
    PadesLevel,
    RevocationUnavailableError,
    SignatureError,
    SignRequest,
    TimestampError,
    ValidationOptions,
    VisibleField,
    sign_pdf,
    validate_pdf,
)

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


def _delegation(uow: UnitOfWork, ctx: OperationContext, login: str, pour: Any) -> str | None:
    """The delegator's name when the signatory acted for them in this case (`pour`), else None.

    The deputy still signs with their own key; the delegation shows in the signature's quality.
    """
    if not pour:
        return None
    delegator = _login(pour)
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


def _quality(params: dict[str, Any], *, name: str, delegator: str | None) -> str:
    quality = str(params.get("qualite") or "")
    if delegator is None:
        return quality
    title = quality[:1].lower() + quality[1:] if quality else delegator
    return f"Pour {title}, par délégation, {name}"


def _signed(
    ctx: OperationContext,
    uow: UnitOfWork,
    original: Document,
    pdf: bytes,
    *,
    kind: str,
    settings: Settings,
) -> Document:
    return store_document(
        uow,
        tenant=ctx.tenant,
        name=derived_name(original.name, kind),
        content=pdf,
        actor_id="system:signatures",
        now=ctx.now,
        max_bytes=settings.max_upload_bytes * 2,
        kind=kind,
        case_id=ctx.case_id,
        derived_from=original.id,
    )


def _run(
    ctx: OperationContext,
    params: dict[str, Any],
    *,
    settings: Settings,
    setup: Callable[[], SigningSetup],
    seal: bool,
) -> dict[str, Any]:
    with ctx.unit_of_work() as uow:
        remembered = uow.jobs.recall_effect(ctx.idempotency_key)
        if remembered is not None:
            return remembered
        name = "" if seal else _check_signatory(uow, ctx, _login(params.get("signataire")))
        delegator = None
        if not seal:
            delegator = _delegation(uow, ctx, _login(params.get("signataire")), params.get("pour"))
        original = document_from_reference(uow, ctx.tenant, params.get("document"))
        content = uow.documents.content(original)
    try:
        config = setup()
    except (OSError, ValueError, SignatureError) as exc:
        raise OperationRetry(f"PKI indisponible : {exc}") from exc
    login = "" if seal else _login(params.get("signataire"))
    level = PadesLevel(str(params.get("niveau") or "B-LTA"))
    quality = _quality(params, name=name, delegator=delegator)
    reason = str(params.get("raison") or "")
    if delegator is not None:
        reason = f"{quality} : {reason}" if reason else quality
    request = SignRequest(
        key=config.seal_key if seal else config.key_for(login, name),
        signer_display_name=config.organisation if seal else name,
        level=level,
        quality="Cachet de la collectivité" if seal and not params.get("qualite") else quality,
        reason=reason,
        visible=None if seal else VisibleField(page=-1, box=SIGNATURE_BOX),
        timestamp_url=config.timestamp_url,
        trust_roots=config.trust_roots,
        max_bytes=settings.max_upload_bytes,
    )
    try:
        signed = sign_pdf(content, request)
    except (TimestampError, RevocationUnavailableError) as exc:
        raise OperationRetry(str(exc)) from exc
    except SignatureError as exc:
        raise OperationFailed("signature_refusee", str(exc)) from exc
    report = validate_pdf(signed.pdf, ValidationOptions(trust_roots=config.trust_roots))
    with ctx.unit_of_work() as uow:
        remembered = uow.jobs.recall_effect(ctx.idempotency_key)
        if remembered is not None:
            return remembered
        document = _signed(
            ctx, uow, original, signed.pdf, kind="sealed" if seal else "signed", settings=settings
        )
        result = {
            "document": document.reference(),
            "validation": {
                "valide": report.valid,
                "niveau": signed.level.value,
                "signataire": signed.signer_certificate_name,
            },
            "qualite": quality,
        }
        uow.jobs.remember_effect(
            idempotency_key=ctx.idempotency_key,
            tenant=ctx.tenant,
            operation="signatures.seal" if seal else "signatures.sign",
            result=result,
            now=ctx.now,
        )
        uow.journal.append(
            tenant=ctx.tenant,
            kind="document.sealed" if seal else "document.signed",
            case_id=ctx.case_id,
            actor=f"user:{login}" if login else "system:cachet",
            payload={
                "document": str(document.id),
                "sha256": document.sha256,
                "original_sha256": original.sha256,
                "level": signed.level.value,
                "certificate": signed.signer_certificate_name,
                "valid": report.valid,
                **(
                    {"pour": str(params.get("pour")), "mention": quality}
                    if delegator is not None
                    else {}
                ),
            },
            now=ctx.now,
        )
        uow.commit()
    return result


def register(registry: OperationRegistry, settings: Settings) -> None:
    cache: dict[str, SigningSetup] = {}

    def setup() -> SigningSetup:
        if "setup" not in cache:
            cache["setup"] = signing_setup(settings)
        return cache["setup"]

    registry.register(
        "signatures.sign",
        lambda ctx, p: _run(ctx, p, settings=settings, setup=setup, seal=False),
        queue="signing",
        description="Signature PAdES d'un document par l'élu qui l'a validé",
    )
    registry.register(
        "signatures.seal",
        lambda ctx, p: _run(ctx, p, settings=settings, setup=setup, seal=True),
        queue="signing",
        description="Cachet de la collectivité sur un document",
    )
