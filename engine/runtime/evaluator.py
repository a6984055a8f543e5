"""The BPMN expression and script evaluator: a checked subset of Python, run by our own interpreter.

Gateway conditions, timer and parameter expressions and script tasks are written by process
authors, not by us, so they never reach Python's `eval`/`exec`. A source is parsed with `ast`,
checked against a whitelist of node kinds (see `evaluator_check`) *before* anything runs, then
walked by our own small interpreter (`evaluator_interpreter`), which counts steps, watches a
deadline and refuses to build oversized values (`Limits`).

The language:
- values: None, bool, int, float, str, Decimal, date, datetime, timedelta, list, dict, tuple, set;
- expressions: literals, names, `a.b` for data attributes (`d.year`) and keys of dict data
  (`facture.montant` reads `facture["montant"]`; a missing key is a French error pointing to
  `facture.get("montant", défaut)`; Python's own attribute names are refused), subscripts and slices,
  arithmetic, comparisons (chained too), `and`/`or`/`not`, `x if c else y`, list/dict/set/tuple
  displays and comprehensions, f-strings with constant narrow format specs, calls to the
  functions of `evaluator_library.FUNCTIONS` and to whitelisted methods of the value types
  (`.upper()`, `.get()`, `.append()`, `.isoformat()`...);
- scripts add: assignment (also `+=`, `x[k] = v`, `a, b = ...`), `if`/`elif`/`else`,
  `for` over a list, dict, string or `range(n)` (with `break`/`continue`), `del`, `pass`.
- never: import, def, lambda, class, while, try, with, global, names or attributes starting
  with `_`, `str.format`/`format_map`, `str % args`, `**kwargs`/`*args` unpacking.
- a call to a name that is not one of the functions below (`print`, `isinstance`, a host
  helper) is refused by the check, before anything runs, with what to write instead; so is
  `"literal" % args` (a string met at run time on the left of `%` is refused there).

Functions (all return plain data; sequences come back as lists):
`len any all abs round min max sum int float str bool Decimal list tuple set dict sorted
reversed enumerate zip range date datetime timedelta parse_date parse_datetime`, and the clock
and calendar of `evaluator_dates`: `today now local_date end_of_day add_days add_months
add_years add_working_days next_working_day is_working_day format_date format_datetime
deadline_days deadline_months deadline_working_days appeal_deadline`.
`now()` is the case clock's instant (aware, UTC); `today()` its Europe/Paris calendar day.
"""

from __future__ import annotations

import ast
import decimal
import functools
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from datetime import datetime
from typing import Any

from engine.runtime.evaluator_base import (
    DEFAULT_LIMITS,
    Budget,
    EvaluationError,
    ForbiddenSyntax,
    LimitExceeded,
    Limits,
)
from engine.runtime.evaluator_check import parse_checked
from engine.runtime.evaluator_interpreter import BreakLoop, ContinueLoop, Interpreter

__all__ = [
    "DEFAULT_LIMITS",
    "EvaluationError",
    "ForbiddenSyntax",
    "LimitExceeded",
    "Limits",
    "check_expression",
    "check_script",
    "evaluate",
    "execute",
]

Clock = Callable[[], datetime]
_DECIMAL_CONTEXT = decimal.Context(
    prec=28,
    Emax=999_999,
    Emin=-999_999,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)
_PYTHON_ERRORS = (TypeError, ValueError, ArithmeticError, KeyError, IndexError, RecursionError)


@functools.lru_cache(maxsize=4096)
def _compiled(source: str, mode: str, limits: Limits) -> ast.AST:
    return parse_checked(source, mode=mode, limits=limits)


def check_expression(source: str, *, limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse (ForbiddenSyntax) an expression outside the allowed subset; runs nothing."""
    _compiled(source, "eval", limits)


def check_script(source: str, *, limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse (ForbiddenSyntax) a script outside the allowed subset; runs nothing."""
    _compiled(source, "exec", limits)


def evaluate(
    source: str,
    variables: Mapping[str, Any],
    *,
    fallback: Sequence[Mapping[str, Any]] = (),
    limits: Limits = DEFAULT_LIMITS,
    clock: Clock | None = None,
) -> Any:
    """Value of the expression `source`; names resolve in `variables`, then `fallback`."""
    tree = _compiled(source, "eval", limits)
    assert isinstance(tree, ast.Expression)
    run = Interpreter(Budget(limits, clock), variables, fallback)
    with decimal.localcontext(_DECIMAL_CONTEXT):
        try:
            value = run.value(tree.body)
            run.budget.guard_deep(value)
            return value
        except EvaluationError as exc:
            raise exc.located(source, 1) from None
        except _PYTHON_ERRORS as exc:
            raise EvaluationError(f"{type(exc).__name__}: {exc}").located(source, 1) from exc


def execute(
    source: str,
    variables: MutableMapping[str, Any],
    *,
    fallback: Sequence[Mapping[str, Any]] = (),
    limits: Limits = DEFAULT_LIMITS,
    clock: Clock | None = None,
) -> frozenset[str]:
    """Run the script `source`; its assignments and `del`s change `variables` in place.

    Returns the names the script assigned (and did not delete).
    """
    tree = _compiled(source, "exec", limits)
    assert isinstance(tree, ast.Module)
    run = Interpreter(Budget(limits, clock), variables, fallback)
    line: int | None = None
    with decimal.localcontext(_DECIMAL_CONTEXT):
        try:
            for statement in tree.body:
                line = statement.lineno
                run.statement(statement)
            for name in run.assigned:
                if name in variables:
                    run.budget.guard_deep(variables[name])
            return frozenset(run.assigned)
        except EvaluationError as exc:
            raise exc.located(source, run.line or line) from None
        except _PYTHON_ERRORS as exc:
            message = f"{type(exc).__name__}: {exc}"
            raise EvaluationError(message).located(source, run.line or line) from exc
        except (BreakLoop, ContinueLoop):
            raise EvaluationError("break/continue outside a loop").located(source, line) from None
