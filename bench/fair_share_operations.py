"""The fair-share bench's stand-in for a signature: an operation on the `signing` queue whose act
waits as long as a remote signing service answers, loaded by the workers through
`Settings.operation_modules` (as the test suite's operations are)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from engine.operations.base import Operation, OperationContext, param
from engine.persistence.uow import UnitOfWork


@dataclass(frozen=True)
class StandInParams:
    seconds: float = param(lambda value: float(value or 0))
    """How long the stand-in signature takes (outside any transaction, as pyHanko's call)."""


def _prepare(uow: UnitOfWork, ctx: OperationContext, params: StandInParams) -> StandInParams:
    return params


def _act(params: StandInParams) -> StandInParams:
    time.sleep(params.seconds)
    return params


def _record(uow: UnitOfWork, ctx: OperationContext, params: StandInParams) -> dict[str, Any]:
    return {"signe": True}


OPERATIONS = (
    Operation(
        name="bench.sign_standin",
        params=StandInParams,
        prepare=_prepare,
        act=_act,
        record=_record,
        queue="signing",
    ),
)
