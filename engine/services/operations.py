"""Registry of the operations service tasks may name; other packages provide them via bootstrap."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.domain.errors import DematflowError
from engine.persistence.uow import UnitOfWork


@dataclass(frozen=True)
class OperationContext:
    """What an operation knows of the call; `idempotency_key` is stable across retries."""

    tenant: str
    case_id: uuid.UUID
    task_name: str
    idempotency_key: str
    now: datetime
    unit_of_work: Callable[[], UnitOfWork]
    """Opens a new transaction, for operations whose effect lives in our database."""


Operation = Callable[[OperationContext, dict[str, Any]], dict[str, Any]]


class OperationFailed(DematflowError):
    """A definitive failure: routed to the model's error boundary (matched by `code`)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class OperationRetry(DematflowError):
    """A transient failure (service down, timeout): the job is retried later."""


@dataclass(frozen=True)
class OperationSpec:
    name: str
    run: Operation
    queue: str = "engine"
    """Celery queue of the job: engine, signing, sealing, connectors or audits."""
    description: str = ""


class OperationRegistry:
    def __init__(self) -> None:
        self._operations: dict[str, OperationSpec] = {}

    def register(
        self, name: str, run: Operation, *, queue: str = "engine", description: str = ""
    ) -> None:
        if name in self._operations:
            raise ValueError(f"operation {name} registered twice")
        self._operations[name] = OperationSpec(name, run, queue, description)

    def get(self, name: str) -> OperationSpec:
        try:
            return self._operations[name]
        except KeyError:
            raise OperationFailed("operation_inconnue", f"Opération inconnue « {name} ».") from None

    def names(self) -> list[str]:
        return sorted(self._operations)


def once(
    ctx: OperationContext, operation: str, compute: Callable[[UnitOfWork], dict[str, Any]]
) -> dict[str, Any]:
    """Run a database-local effect exactly once per idempotency key, in one transaction."""
    with ctx.unit_of_work() as uow:
        remembered = uow.jobs.recall_effect(ctx.idempotency_key)
        if remembered is not None:
            return remembered
        result = compute(uow)
        uow.jobs.remember_effect(
            idempotency_key=ctx.idempotency_key,
            tenant=ctx.tenant,
            operation=operation,
            result=result,
            now=ctx.now,
        )
        uow.commit()
        return result


def next_act_number(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    """Number an act in its series, per tenant and year (@ctes: ^[0-9A-Z_]{1,15}$)."""
    serie = str(params.get("serie") or "ACTE").upper()
    if not serie.replace("_", "").isalnum() or len(serie) > 6 or not serie.isascii():
        raise OperationFailed("serie_invalide", f"Série de numérotation invalide « {serie} ».")
    year = ctx.now.year

    def compute(uow: UnitOfWork) -> dict[str, Any]:
        value = uow.tenants.next_counter(ctx.tenant, f"acte:{serie}:{year}")
        return {
            "numero": f"{year}_{serie}{value:04d}",
            "serie": serie,
            "rang": value,
            "annee": year,
        }

    return once(ctx, "engine.next_act_number", compute)


def register_builtin_operations(registry: OperationRegistry) -> None:
    from engine.services.case_queries import session_deliberations, similar_purchases
    from engine.services.deadline_operations import compute_deadline
    from engine.services.render_operation import render_document

    registry.register(
        "engine.similar_purchases",
        similar_purchases,
        description="Achats de même nature dans l'année (contrôle du fractionnement)",
    )
    registry.register(
        "engine.session_deliberations",
        session_deliberations,
        description="Délibérations votées lors d'une séance",
    )

    registry.register(
        "engine.compute_deadline",
        compute_deadline,
        description="Calcule une échéance légale et son explication",
    )
    registry.register(
        "documents.render",
        render_document,
        description="Produit un document PDF du dossier à partir d'un modèle",
    )
    registry.register(
        "engine.next_act_number",
        next_act_number,
        description="Attribue le numéro d'acte suivant de la série, par année",
    )
