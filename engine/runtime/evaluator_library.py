"""What BPMN expressions may call: a short list of safe functions and per-type method whitelists.

Every callable here is reached only through `call_function` / `call_method`, which check the
arguments' types and sizes before any work is done, pay for the result in steps, and turn
library views and iterators into plain lists so that only data types ever flow back.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from engine.runtime.evaluator_base import (
    CONTAINER_TYPES,
    Budget,
    EvaluationError,
    ForbiddenSyntax,
    LimitExceeded,
    check_value,
)
from engine.runtime.evaluator_dates import DATE_FUNCTIONS

__all__ = [
    "ATTRIBUTE_NAMES",
    "FUNCTIONS",
    "METHOD_NAMES",
    "SafeFunction",
    "call_function",
    "call_method",
    "check_format_spec",
    "format_value",
    "get_attribute",
]

Impl = Callable[[Budget, tuple[Any, ...], dict[str, Any]], Any]
NUMBER_TYPES = (int, float, Decimal)


@dataclass(frozen=True)
class SafeFunction:
    """A function expressions may call; never a value that can be stored in task data."""

    name: str
    impl: Impl
    deep_args: bool = True
    """Whether arguments are walked by Python in C (compared, hashed, printed)."""


# -- guards ------------------------------------------------------------------------------------

_FORMAT_SPEC = re.compile(r"[^{}]{0,64}")
_LONG_NUMBER = re.compile(r"\d{4,}")


def check_format_spec(spec: str) -> None:
    """Refuse format specs that could build huge strings (widths, precisions over 999)."""
    if not _FORMAT_SPEC.fullmatch(spec) or _LONG_NUMBER.search(spec):
        raise ForbiddenSyntax(f"format spec {spec!r} is not allowed (too long or too wide)")


def format_value(budget: Budget, value: Any, conversion: int, spec: str) -> str:
    budget.guard_deep(value)
    if conversion == ord("r"):
        value = repr(value)
    elif conversion == ord("a"):
        value = ascii(value)
    elif conversion == ord("s"):
        value = str(value)
    check_format_spec(spec)
    if spec and type(value) in CONTAINER_TYPES:
        raise EvaluationError("format specs apply to numbers, strings and dates only")
    try:
        result = format(value, spec)
    except (ValueError, TypeError, OverflowError) as exc:
        raise EvaluationError(f"cannot format {type(value).__name__}: {exc}") from exc
    return str(budget.charge_size(result))


def _width_guard(
    position: int, name: str
) -> Callable[[Budget, Any, tuple[Any, ...], dict[str, Any]], None]:
    def guard(budget: Budget, obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        width = args[position] if len(args) > position else kwargs.get(name, 0)
        if isinstance(width, int):
            budget.require_length(width, "padded string")

    return guard


def _replace_guard(budget: Budget, obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if type(obj) is str and len(args) >= 2 and type(args[0]) is str and type(args[1]) is str:
        old, new = args[0], args[1]
        count = obj.count(old) if old else len(obj) + 1
        budget.require_length(len(obj) + count * max(0, len(new) - len(old)), "replaced string")


def _join_guard(budget: Budget, obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if args and type(args[0]) in CONTAINER_TYPES:
        parts = list(args[0])
        total = sum(len(p) for p in parts if type(p) is str) + len(obj) * len(parts)
        budget.require_length(total, "joined string")


def _extend_guard(budget: Budget, obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    for arg in [*args, *kwargs.values()]:
        if type(arg) in (*CONTAINER_TYPES, str):
            budget.require_length(len(obj) + len(arg), "collection")


Guard = Callable[[Budget, Any, tuple[Any, ...], dict[str, Any]], None]
_NO_GUARD: dict[str, Guard | None] = {}


def _methods(names: str, **guards: Guard) -> dict[str, Guard | None]:
    table: dict[str, Guard | None] = dict.fromkeys(names.split())
    table.update(guards)
    return table


_STR_METHODS = _methods(
    "upper lower strip lstrip rstrip title capitalize casefold swapcase startswith endswith"
    " split rsplit splitlines partition rpartition find rfind index rindex count"
    " removeprefix removesuffix isdigit isdecimal isnumeric isalpha isalnum isspace isupper"
    " islower istitle",
    replace=_replace_guard,
    join=_join_guard,
    zfill=_width_guard(0, "width"),
    center=_width_guard(0, "width"),
    ljust=_width_guard(0, "width"),
    rjust=_width_guard(0, "width"),
)
_DATE_METHODS = _methods("isoformat weekday isoweekday replace strftime")
_METHODS: dict[type, dict[str, Guard | None]] = {
    str: _STR_METHODS,
    list: _methods(
        "append insert pop remove index count copy reverse clear sort", extend=_extend_guard
    ),
    tuple: _methods("index count"),
    dict: _methods("get keys values items pop setdefault copy clear", update=_extend_guard),
    set: _methods(
        "add remove discard pop copy clear union intersection difference symmetric_difference"
        " issubset issuperset isdisjoint",
        update=_extend_guard,
    ),
    float: _methods("is_integer"),
    Decimal: _methods("quantize to_integral_value is_zero is_signed"),
    date: _DATE_METHODS,
    datetime: _methods("isoformat weekday isoweekday replace strftime date timestamp"),
    timedelta: _methods("total_seconds"),
}
_SHALLOW_RECEIVERS = frozenset(
    [
        "append",
        "insert",
        "pop",
        "copy",
        "reverse",
        "clear",
        "get",
        "keys",
        "values",
        "items",
        "setdefault",
        "extend",
        "update",
        "add",
        "discard",
        "isoformat",
        "weekday",
        "isoweekday",
        "replace",
        "date",
        "timestamp",
        "total_seconds",
    ]
)
"""Methods that do not walk their receiver's nested values (all others get it measured)."""

_ATTRIBUTES: dict[type, frozenset[str]] = {
    date: frozenset({"year", "month", "day"}),
    datetime: frozenset({"year", "month", "day", "hour", "minute", "second", "microsecond"}),
    timedelta: frozenset({"days", "seconds", "microseconds"}),
}
_VIEW_TYPES: tuple[type, ...] = (type({}.keys()), type({}.values()), type({}.items()))

METHOD_NAMES: frozenset[str] = frozenset(name for table in _METHODS.values() for name in table)
"""Every method name some allowed type has: a call to any other `x.name()` is refused."""
ATTRIBUTE_NAMES: frozenset[str] = METHOD_NAMES | frozenset(
    name for table in _ATTRIBUTES.values() for name in table
)
"""Every attribute name some allowed type has (besides the keys of dict data)."""


def get_attribute(obj: Any, name: str, *, where: str = "") -> Any:
    """A data attribute (`d.year`), or a key of dict data (`facture.montant`).

    Methods are only reachable by calling them; a dict's keys win over its method names
    (`dossier.items` reads the key `items` when the dict has one).
    """
    if type(obj) is dict:
        if name in obj:
            return check_value(obj[name], f"{where}.{name}")
        if name in _METHODS[dict]:
            raise EvaluationError(f"method {name}() must be called, not used as a value")
        keys = ", ".join(str(key)[:40] for key in list(obj)[:20]) or "aucune"
        raise EvaluationError(
            f"{where}.{name} : la clé « {name} » n'existe pas dans ces données (clés présentes :"
            f' {keys}) ; pour une valeur facultative, écrivez {where}.get("{name}", valeur)'
        )
    allowed = _ATTRIBUTES.get(type(obj), frozenset())
    if name not in allowed:
        if name in _METHODS.get(type(obj), _NO_GUARD):
            raise EvaluationError(f"method {name}() must be called, not used as a value")
        raise EvaluationError(f"{type(obj).__name__} has no allowed attribute {name!r}")
    return getattr(obj, name)


def call_method(
    budget: Budget, obj: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    table = _METHODS.get(type(obj), _NO_GUARD)
    if name not in table:
        raise EvaluationError(f"{type(obj).__name__} has no allowed method {name}()")
    if name == "strftime" or (name == "sort" and "key" in kwargs):
        _refuse_risky_arguments(name, args, kwargs)
    for value in [*args, *kwargs.values()]:
        budget.guard_deep(value)
    if name not in _SHALLOW_RECEIVERS:
        budget.guard_deep(obj)
    guard = table[name]
    if guard is not None:
        guard(budget, obj, args, kwargs)
    result = _call(getattr(obj, name), args, kwargs, name)
    if type(obj) in CONTAINER_TYPES:
        budget.charge_size(obj)
    if type(result) in _VIEW_TYPES:
        result = list(result)
    return _checked_result(budget, result, name)


def _refuse_risky_arguments(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if name == "sort":
        raise EvaluationError("sort(key=...) is not supported; use sorted() on simple values")
    fmt = args[0] if args else kwargs.get("format")
    if type(fmt) is not str:
        raise EvaluationError("strftime() needs a format string")
    check_format_spec(fmt)


def _call(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], name: str
) -> Any:
    try:
        return func(*args, **kwargs)
    except (TypeError, ValueError, KeyError, IndexError, ArithmeticError, AttributeError) as exc:
        raise EvaluationError(f"{name}(): {type(exc).__name__}: {exc}") from exc


def _checked_result(budget: Budget, result: Any, name: str) -> Any:
    check_value(result, f"result of {name}()")
    return budget.charge_size(result)


# -- functions -----------------------------------------------------------------------------------


def call_function(
    budget: Budget, func: SafeFunction, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    if func.deep_args:
        for value in [*args, *kwargs.values()]:
            budget.guard_deep(value)
    try:
        result = func.impl(budget, args, kwargs)
    except EvaluationError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, ArithmeticError) as exc:
        raise EvaluationError(f"{func.name}(): {type(exc).__name__}: {exc}") from exc
    return _checked_result(budget, result, func.name)


def _plain(python: Callable[..., Any]) -> Impl:
    return lambda budget, args, kwargs: python(*args, **kwargs)


def _bounded_iterable(budget: Budget, value: Any) -> Iterable[Any]:
    if type(value) not in (*CONTAINER_TYPES, str):
        raise EvaluationError(
            f"expected a list, tuple, dict, set or string, not {type(value).__name__}"
        )
    budget.require_length(len(value), "collection")
    return value  # type: ignore[no-any-return]


def _range(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[int]:
    bounds = range(*args, **kwargs)
    budget.require_length(len(bounds), "range")
    return list(bounds)


def _collect(python: Callable[..., Any]) -> Impl:
    """Wrap a builtin taking iterables (enumerate, zip, reversed...) into one returning a list."""

    def impl(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
        for arg in args:
            _bounded_iterable(budget, arg)
        return list(python(*args, **kwargs))

    return impl


def _truth(python: Callable[[Iterable[Any]], bool]) -> Impl:
    def impl(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        if len(args) != 1 or kwargs:
            raise EvaluationError("any() and all() take one list")
        return python(_bounded_iterable(budget, args[0]))

    return impl


def _convert(python: type) -> Impl:
    def impl(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        for arg in args:
            if type(arg) in CONTAINER_TYPES:
                _bounded_iterable(budget, arg)
        return python(*args, **kwargs)

    return impl


def _int(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    if args and type(args[0]) is Decimal:
        _check_decimal_size(budget, args[0])
    return int(*args, **kwargs)


def _round(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if args and type(args[0]) is Decimal:
        _check_decimal_size(budget, args[0])
    return round(*args, **kwargs)


def _check_decimal_size(budget: Budget, value: Decimal) -> None:
    if value.is_finite() and value.adjusted() * 3.33 > budget.limits.max_int_bits:
        raise LimitExceeded(
            f"decimal too large to convert to an integer ({value.adjusted()} digits)"
        )


def _sum(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    items = list(_bounded_iterable(budget, args[0])) if args else []
    start = args[1] if len(args) > 1 else kwargs.get("start", 0)
    if any(type(v) not in NUMBER_TYPES or type(v) is bool for v in [*items, start]):
        raise EvaluationError("sum() adds numbers only")
    return sum(items, start)


def _function(name: str, impl: Impl, *, deep: bool = True) -> tuple[str, SafeFunction]:
    return name, SafeFunction(name, impl, deep)


FUNCTIONS: dict[str, SafeFunction] = dict(
    [
        # sizes and truth of collections
        _function("len", _plain(len), deep=False),
        _function("any", _truth(any), deep=False),
        _function("all", _truth(all), deep=False),
        # numbers
        _function("abs", _plain(abs)),
        _function("round", _round),
        _function("min", _plain(min)),
        _function("max", _plain(max)),
        _function("sum", _sum),
        # conversions (from JSON-like values)
        _function("int", _int),
        _function("float", _plain(float)),
        _function("str", _plain(str)),
        _function("bool", _plain(bool), deep=False),
        _function("Decimal", _plain(Decimal)),
        _function("list", _convert(list), deep=False),
        _function("tuple", _convert(tuple), deep=False),
        _function("set", _convert(set)),
        _function("dict", _convert(dict)),
        # sequences, always returned as lists
        _function("sorted", _collect(sorted)),
        _function("reversed", _collect(reversed), deep=False),
        _function("enumerate", _collect(enumerate), deep=False),
        _function("zip", _collect(zip), deep=False),
        _function("range", _range, deep=False),
        # dates: ISO 8601 parsing; the clock and calendar of `evaluator_dates`
        _function("date", _plain(date)),
        _function("datetime", _plain(datetime)),
        _function("timedelta", _plain(timedelta)),
        _function("parse_date", _plain(date.fromisoformat)),
        _function("parse_datetime", _plain(datetime.fromisoformat)),
        *(_function(name, impl, deep=False) for name, impl in DATE_FUNCTIONS.items()),
    ]
)
"""The only functions expressions can call, by name. Documented in `evaluator`'s docstring."""
