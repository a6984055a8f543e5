"""Operations used only by tests, loaded by a real worker via DEMATFLOW_OPERATION_MODULES."""

from __future__ import annotations

import time
from typing import Any

from engine.services.operations import (
    OperationContext,
    OperationFailed,
    OperationRegistry,
    once,
)
from engine.settings import Settings


def slow_counter(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    """Increment a per-tenant counter once per idempotency key, then linger (kill window)."""
    result = once(
        ctx,
        "test.slow_counter",
        lambda uow: {"valeur": uow.tenants.next_counter(ctx.tenant, "test-effects")},
    )
    time.sleep(float(params.get("linger", 0)))
    return result


def always_fails(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    raise OperationFailed(
        str(params.get("code", "refus")), "Le service distant a refusé la demande."
    )


def register(registry: OperationRegistry, settings: Settings) -> None:
    registry.register("test.slow_counter", slow_counter)
    registry.register("test.always_fails", always_fails)
