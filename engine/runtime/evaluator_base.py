"""Shared pieces of the BPMN expression evaluator: errors, limits, the run budget, value checks.

Kept apart from the checker, the library and the interpreter so that each can import them
without a cycle; `engine.runtime.evaluator` re-exports what callers need.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

__all__ = [
    "CONTAINER_TYPES",
    "DATA_TYPES",
    "DEFAULT_LIMITS",
    "Budget",
    "EvaluationError",
    "ForbiddenSyntax",
    "LimitExceeded",
    "Limits",
    "check_value",
]


class EvaluationError(Exception):
    """An expression or script was refused or failed; the message names the source and line."""

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None):
        self.detail = message
        self.source = source
        self.line = line
        super().__init__(message)

    def located(self, source: str, line: int | None) -> EvaluationError:
        """Attach the source and line once, at the outermost level that knows them."""
        if self.source is None:
            self.source = source
            self.line = self.line if self.line is not None else line
            where = f" (line {self.line})" if self.line else ""
            self.args = (f"{self.detail}{where} in {_excerpt(source)!r}",)
        return self

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else self.detail


class ForbiddenSyntax(EvaluationError):
    """The source uses a construct, name or attribute outside the allowed subset."""


class LimitExceeded(EvaluationError):
    """Evaluation ran past a time, step, size or depth bound."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _excerpt(source: str, width: int = 120) -> str:
    text = source.strip()
    return text if len(text) <= width else text[: width - 3] + "..."


@dataclass(frozen=True)
class Limits:
    """Bounds on one evaluation; the defaults suit gateway conditions and short scripts."""

    max_source_chars: int = 20_000
    """Longest accepted source text."""
    max_nesting: int = 40
    """Deepest accepted nesting of syntax nodes (parentheses, calls, blocks)."""
    max_steps: int = 200_000
    """Operations allowed per evaluation; large results cost extra steps (see `charge_size`)."""
    time_budget_s: float = 1.0
    """Wall-clock seconds allowed per evaluation, checked between operations."""
    max_string: int = 100_000
    """Longest string an operation may build."""
    max_items: int = 100_000
    """Most elements a list, tuple, dict or set built by an operation may hold."""
    max_int_bits: int = 10_000
    """Largest integer (in bits) an operation may build."""
    max_deep_size: int = 200_000
    """Bound on a value's size counted through nested containers and shared references."""
    items_per_step: int = 16
    """Built elements (or string characters / 4) that one step pays for."""


DEFAULT_LIMITS = Limits()

DATA_TYPES: frozenset[type] = frozenset(
    {
        type(None),
        bool,
        int,
        float,
        str,
        Decimal,
        date,
        datetime,
        timedelta,
        list,
        dict,
        tuple,
        set,
    }
)
"""Exact types a value may have inside the evaluator (subclasses are refused)."""

CONTAINER_TYPES = (list, dict, tuple, set)


def check_value(value: Any, what: str = "value") -> Any:
    """Refuse values of types the evaluator does not know how to handle safely."""
    if type(value) not in DATA_TYPES:
        raise EvaluationError(f"{what} of unsupported type {type(value).__name__}")
    return value


class Budget:
    """Step counter and deadline of one evaluation, plus the size checks that use its limits.

    It also carries the clock that `now()` and `today()` read, so tests and the timer
    scheduler can fix the current time.
    """

    __slots__ = ("clock", "deadline", "limits", "steps")

    def __init__(self, limits: Limits, clock: Callable[[], datetime] | None = None) -> None:
        self.limits = limits
        self.clock = clock or _utcnow
        self.steps = 0
        self.deadline = time.monotonic() + limits.time_budget_s

    def step(self, cost: int = 1) -> None:
        self.steps += cost
        if self.steps > self.limits.max_steps:
            raise LimitExceeded(f"more than {self.limits.max_steps} operations")
        if self.steps & 0xFF == 0 or cost > 1:
            self.check_time()

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise LimitExceeded(f"time budget of {self.limits.time_budget_s} s exceeded")

    def charge_size(self, value: Any) -> Any:
        """Pay for a freshly built value in proportion to its size; refuse oversized ones."""
        kind = type(value)
        if kind is str:
            if len(value) > self.limits.max_string:
                raise LimitExceeded(f"string longer than {self.limits.max_string} characters")
            self.step(1 + len(value) // (4 * self.limits.items_per_step))
        elif kind in CONTAINER_TYPES:
            if len(value) > self.limits.max_items:
                raise LimitExceeded(f"collection larger than {self.limits.max_items} items")
            self.step(1 + len(value) // self.limits.items_per_step)
        elif kind is int and value.bit_length() > self.limits.max_int_bits:
            raise LimitExceeded(f"integer larger than {self.limits.max_int_bits} bits")
        return value

    def require_length(self, length: int, what: str = "result") -> None:
        """Refuse before building: `length` is the predicted size of a string or collection."""
        bound = max(self.limits.max_string, self.limits.max_items)
        if length > bound:
            raise LimitExceeded(f"{what} would hold {length} items (limit {bound})")

    def guard_deep(self, value: Any) -> None:
        """Refuse containers whose size, counted through shared references, is too large.

        Python compares, hashes, prints and serializes nested values by walking them in C,
        where no step counter or deadline applies; aliasing (`x = [x, x]` in a loop) makes
        that walk exponential in the number of steps that built it. Walk it here first.
        """
        if type(value) not in CONTAINER_TYPES:
            return
        limit = self.limits.max_deep_size
        seen = 0
        pending: list[Any] = [value]
        while pending:
            item = pending.pop()
            kind = type(item)
            if kind is str:
                seen += 1 + len(item) // 16
            elif kind is dict:
                seen += 1 + len(item)
                pending.extend(item.keys())
                pending.extend(item.values())
            elif kind in CONTAINER_TYPES:
                seen += 1 + len(item)
                pending.extend(item)
            else:
                seen += 1
            if seen > limit:
                raise LimitExceeded(f"nested value larger than {limit} items")
        self.step(1 + seen // (4 * self.limits.items_per_step))
