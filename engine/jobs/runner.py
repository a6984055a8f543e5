"""The job driver: the one place where periodic jobs (and batches) open and commit transactions.

A job walks its items and hands each step to the runner: `read` opens a unit of work and rolls
it back, `write` opens one and commits it when the step returns (rolled back if it raises).
Steps receive the unit of work and never commit, so one failing item leaves the others
committed, and nothing is held open while the job talks to the outside (TSA, S3, @ctes, HTTP).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Concatenate, ParamSpec, TypeVar

from engine.persistence.uow import UnitOfWork, UnitOfWorkFactory

T = TypeVar("T")
P = ParamSpec("P")


@dataclass(frozen=True)
class TransactionRunner:
    """Runs each step in its own unit of work from `uow_factory`."""

    uow_factory: UnitOfWorkFactory

    def read(
        self, query: Callable[Concatenate[UnitOfWork, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`query(uow, *args, **kwargs)` in a transaction rolled back once it returns."""
        with self.uow_factory() as uow:
            return query(uow, *args, **kwargs)

    def write(
        self, step: Callable[Concatenate[UnitOfWork, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`step(uow, *args, **kwargs)` in one transaction, committed when it returns, rolled
        back if it raises."""
        with self.uow_factory() as uow:
            result = step(uow, *args, **kwargs)
            uow.commit()
            return result
