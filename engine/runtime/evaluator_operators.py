"""Operators of the BPMN evaluator, with their sizes predicted before Python computes them.

`9**9**9`, `'x' * 10**9` or `x << 10**9` would allocate gigabytes inside one C call, where no
step counter or deadline can stop them: each such operator checks the size of its result first.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from engine.runtime.evaluator_base import CONTAINER_TYPES, Budget, EvaluationError, LimitExceeded

__all__ = ["binary_operation", "compare"]

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.LShift: operator.lshift,
    ast.RShift: operator.rshift,
    ast.BitOr: operator.or_,
    ast.BitXor: operator.xor,
    ast.BitAnd: operator.and_,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_SEQUENCES = (str, list, tuple)


def binary_operation(budget: Budget, op: ast.operator, left: Any, right: Any) -> Any:
    _predict(budget, op, left, right)
    try:
        result = _BINARY[type(op)](left, right)
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise EvaluationError(f"{type(exc).__name__}: {exc}") from None
    return budget.charge_size(result)


def compare(budget: Budget, op: ast.cmpop, left: Any, right: Any) -> bool:
    budget.guard_deep(left)
    if (
        not isinstance(op, ast.In | ast.NotIn)
        or type(right) not in CONTAINER_TYPES
        or type(left) in CONTAINER_TYPES
    ):
        budget.guard_deep(right)
    else:
        budget.step(1 + len(right) // budget.limits.items_per_step)
    if isinstance(op, ast.In | ast.NotIn) and type(right) not in (*CONTAINER_TYPES, str):
        raise EvaluationError(
            f"'in' needs a list, tuple, dict, set or string, not {type(right).__name__}"
        )
    try:
        return bool(_COMPARE[type(op)](left, right))
    except TypeError as exc:
        raise EvaluationError(f"cannot compare: {exc}") from None


def _predict(budget: Budget, op: ast.operator, left: Any, right: Any) -> None:
    """Refuse operations whose result would exceed the limits, before computing them."""
    limits = budget.limits
    if isinstance(op, ast.Mod) and type(left) is str:
        raise EvaluationError("'%' formatting of strings is not allowed; use an f-string")
    if (
        isinstance(op, ast.Add | ast.BitOr)
        and type(left) is type(right)
        and hasattr(left, "__len__")
    ):
        budget.require_length(len(left) + len(right))
    elif isinstance(op, ast.Mult):
        _predict_product(budget, left, right)
    elif isinstance(op, ast.Pow) and _is_int(left) and _is_int(right) and right > 0:
        if abs(left) > 1 and left.bit_length() * right > limits.max_int_bits:
            raise LimitExceeded(f"{left} ** {right} would exceed {limits.max_int_bits} bits")
    elif isinstance(op, ast.Pow) and type(left) is Decimal and _is_int(right):
        if abs(right) > 10_000:
            raise LimitExceeded("decimal exponent too large")
    elif (
        isinstance(op, ast.LShift)
        and _is_int(left)
        and _is_int(right)
        and right > 0
        and left.bit_length() + right > limits.max_int_bits
    ):
        raise LimitExceeded(f"shift would exceed {limits.max_int_bits} bits")


def _predict_product(budget: Budget, left: Any, right: Any) -> None:
    if type(left) in _SEQUENCES and _is_int(right):
        budget.require_length(len(left) * max(right, 0), "repeated sequence")
    elif type(right) in _SEQUENCES and _is_int(left):
        budget.require_length(len(right) * max(left, 0), "repeated sequence")
    elif (
        _is_int(left)
        and _is_int(right)
        and left.bit_length() + right.bit_length() > budget.limits.max_int_bits
    ):
        raise LimitExceeded(f"product would exceed {budget.limits.max_int_bits} bits")


def _is_int(value: Any) -> bool:
    return type(value) in (int, bool)
