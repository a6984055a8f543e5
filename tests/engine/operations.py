"""Operations used only by tests, loaded by a real worker via DEMATFLOW_OPERATION_MODULES."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from engine.operations.base import (
    Operation,
    OperationContext,
    OperationFailed,
    param,
    passing,
)
from engine.persistence.uow import UnitOfWork


@dataclass(frozen=True)
class SlowParams:
    linger: float = param(lambda value: float(value or 0))
    """Seconds to wait after counting, before the job finishes (a window to kill the worker)."""


def _prepare_slow(uow: UnitOfWork, ctx: OperationContext, params: SlowParams) -> SlowParams:
    return params


def _linger(params: SlowParams) -> SlowParams:
    time.sleep(params.linger)
    return params


def _record_slow(uow: UnitOfWork, ctx: OperationContext, params: SlowParams) -> dict[str, Any]:
    """Increment a per-tenant counter, once per idempotency key (the runner remembers it)."""
    return {"valeur": uow.tenants.next_counter(ctx.tenant, "test-effects")}


@dataclass(frozen=True)
class FailingParams:
    code: str = param(lambda value: str(value or "refus"))


def _always_fails(uow: UnitOfWork, ctx: OperationContext, params: FailingParams) -> None:
    raise OperationFailed(params.code, "Le service distant a refusé la demande.")


OPERATIONS = (
    Operation(
        name="test.slow_counter",
        params=SlowParams,
        prepare=_prepare_slow,
        act=_linger,
        record=_record_slow,
    ),
    Operation(
        name="test.always_fails",
        params=FailingParams,
        prepare=_always_fails,
        act=passing,
        record=lambda uow, ctx, outcome: {},
    ),
)
