"""The three-phase runner over the in-memory unit of work: recall before prepare, `record` in
the runner's write transaction, a reservation runs the phases again, what `record` wrote for a
retry or a refusal is kept, a case changed meanwhile is written again, an exception loses it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from engine.domain.errors import Conflict
from engine.operations.base import (
    Failed,
    Operation,
    OperationContext,
    OperationFailed,
    OperationRetry,
    Resources,
    RetryLater,
    RunAgain,
    Verdict,
)
from engine.operations.runner import run_operation
from engine.ports import UnitOfWork
from engine.settings import Settings
from tests.fakes.memory_uow import MemoryDatabase
from tests.unit.support import NOW, TENANT

CASE = uuid.uuid4()


@dataclass(frozen=True)
class _NoParams:
    pass


def _recorded(db: MemoryDatabase) -> int:
    with db.uow() as uow:
        return sum(e.kind == "test.recorded" for e in uow.journal.for_case(TENANT, CASE))


def _scripted(verdicts: list[Any], acted: list[int]) -> Operation[_NoParams, int, int]:
    """`act` counts its calls; `record` journals one entry, then gives the next scripted verdict
    (an exception is raised instead of returned)."""

    def prepare(uow: UnitOfWork, ctx: OperationContext, params: _NoParams) -> int:
        return 0

    def act(plan: int) -> int:
        acted.append(plan)
        return plan

    def record(uow: UnitOfWork, ctx: OperationContext, outcome: int) -> Verdict:
        uow.journal.append(
            tenant=ctx.tenant, kind="test.recorded", case_id=CASE, actor="t", payload={}, now=NOW
        )
        verdict = verdicts.pop(0)
        if isinstance(verdict, Exception):
            raise verdict
        return verdict

    return Operation("test.scripted", _NoParams, prepare, act, record)


def _run(db: MemoryDatabase, operation: Operation[Any, Any, Any], key: str) -> Any:
    ctx = OperationContext(TENANT, CASE, operation.name, key, NOW, NOW, Resources(Settings()))
    return run_operation(operation, ctx, {}, db.uow, lambda _uow, result: result)


def test_the_effect_runs_once_per_key_and_is_recalled_before_prepare(db: MemoryDatabase) -> None:
    acted: list[int] = []
    operation = _scripted([{"fait": True}], acted)
    assert _run(db, operation, "cle") == {"fait": True}
    assert _run(db, operation, "cle") == {"fait": True}  # recalled: no phase runs again
    assert len(acted) == 1 and _recorded(db) == 1


def test_a_reservation_commits_and_runs_the_phases_again(db: MemoryDatabase) -> None:
    acted: list[int] = []
    assert _run(db, _scripted([RunAgain(), {"fait": True}], acted), "cle") == {"fait": True}
    assert len(acted) == 2 and _recorded(db) == 2


def test_what_record_wrote_for_a_retry_or_a_refusal_is_kept(db: MemoryDatabase) -> None:
    operation = _scripted([RetryLater("plus tard"), Failed("refus", "Refusé.")], [])
    with pytest.raises(OperationRetry, match="plus tard"):
        _run(db, operation, "cle")
    assert _recorded(db) == 1
    with pytest.raises(OperationFailed) as refused:
        _run(db, operation, "cle")
    assert refused.value.code == "refus" and _recorded(db) == 2


def test_a_case_changed_meanwhile_is_written_again_and_an_error_writes_nothing(
    db: MemoryDatabase,
) -> None:
    acted: list[int] = []
    operation = _scripted([Conflict("changé"), {"fait": True}], acted)
    assert _run(db, operation, "cle-1") == {"fait": True}
    assert len(acted) == 1 and _recorded(db) == 1  # the conflicting write was rolled back
    broken = _scripted([ValueError("panne")], [])
    with pytest.raises(ValueError, match="panne"):
        _run(db, broken, "cle-2")
    assert _recorded(db) == 1
    assert _run(db, _scripted([{"fait": 2}], []), "cle-2") == {"fait": 2}  # nothing remembered
