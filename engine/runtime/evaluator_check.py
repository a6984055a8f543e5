"""The syntax check of the BPMN evaluator: a whitelist of Python AST nodes, run before anything.

A source passes only if every node is of an allowed kind, no name or attribute starts with an
underscore, no attribute is one of Python's own (`format_map`, `mro`, `f_globals`: a dot reads
either an allowed attribute of a date or a key of dict data), every method called is one some
allowed type has, every function called is in the library, and f-string format specs are
constant and narrow. Nothing is executed here.
"""

from __future__ import annotations

import ast
import threading
import types
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from engine.runtime.evaluator_base import EvaluationError, ForbiddenSyntax, Limits
from engine.runtime.evaluator_library import (
    ATTRIBUTE_NAMES,
    FUNCTIONS,
    METHOD_NAMES,
    check_format_spec,
)

__all__ = ["parse_checked", "parse_python"]

_EXPRESSION_NODES: frozenset[type[ast.AST]] = frozenset(
    {
        ast.Expression,
        ast.Constant,
        ast.Name,
        ast.Attribute,
        ast.Subscript,
        ast.Slice,
        ast.BoolOp,
        ast.BinOp,
        ast.UnaryOp,
        ast.Compare,
        ast.IfExp,
        ast.Call,
        ast.keyword,
        ast.List,
        ast.Tuple,
        ast.Dict,
        ast.Set,
        ast.ListComp,
        ast.SetComp,
        ast.DictComp,
        ast.GeneratorExp,
        ast.comprehension,
        ast.JoinedStr,
        ast.FormattedValue,
        ast.Load,
        ast.Store,
        ast.Del,
        ast.And,
        ast.Or,
        ast.Add,
        ast.Sub,
        ast.Mult,
        ast.Div,
        ast.FloorDiv,
        ast.Mod,
        ast.Pow,
        ast.LShift,
        ast.RShift,
        ast.BitOr,
        ast.BitXor,
        ast.BitAnd,
        ast.Not,
        ast.USub,
        ast.UAdd,
        ast.Invert,
        ast.Eq,
        ast.NotEq,
        ast.Lt,
        ast.LtE,
        ast.Gt,
        ast.GtE,
        ast.Is,
        ast.IsNot,
        ast.In,
        ast.NotIn,
    }
)
_SCRIPT_NODES = _EXPRESSION_NODES | {
    ast.Module,
    ast.Expr,
    ast.Assign,
    ast.AugAssign,
    ast.If,
    ast.For,
    ast.Pass,
    ast.Break,
    ast.Continue,
    ast.Delete,
}
_FORBIDDEN_NAMES = frozenset(
    [
        "eval",
        "exec",
        "compile",
        "open",
        "getattr",
        "setattr",
        "delattr",
        "hasattr",
        "globals",
        "locals",
        "vars",
        "dir",
        "breakpoint",
        "memoryview",
        "classmethod",
        "staticmethod",
        "super",
        "property",
    ]
)
"""Python builtins that are not ours: refused by name for a clear message (never defined anyway)."""
_INSTEAD = {
    "print": "print() n'existe pas : affectez la valeur à une variable, elle apparaîtra dans "
    "les données du dossier",
    "isinstance": "isinstance() n'existe pas : testez la valeur elle-même (x is None, "
    'x == "", str(x).isdigit()) ou convertissez-la (int(x), str(x))',
    "type": "type() n'existe pas : testez la valeur elle-même (x is None, str(x).isdigit()) "
    "ou convertissez-la (int(x), str(x))",
    "format": 'format() n\'existe pas : écrivez une f-string, f"{x:.2f}"',
    "repr": 'repr() n\'existe pas : écrivez une f-string, f"{x!r}"',
    "input": "input() n'existe pas : demandez la valeur dans un formulaire de tâche",
}
"""What to write instead of a Python builtin that is not in the evaluator's library."""
_PYTHON_ATTRIBUTES = (
    frozenset(
        name
        for kind in (
            object,
            type,
            str,
            bytes,
            int,
            float,
            bool,
            complex,
            Decimal,
            list,
            tuple,
            dict,
            set,
            frozenset,
            date,
            datetime,
            timedelta,
            types.FunctionType,
            types.BuiltinFunctionType,
            types.MethodType,
            types.GeneratorType,
            types.CoroutineType,
            types.CodeType,
            types.FrameType,
            types.TracebackType,
            types.ModuleType,
            BaseException,
        )
        for name in dir(kind)
    )
    | {"f_globals", "f_locals", "f_builtins", "gi_frame", "cr_frame", "tb_frame", "tzinfo"}
) - ATTRIBUTE_NAMES
"""Attribute names Python's own objects have and ours do not: never a dict key read by a dot."""
_CLOCK_HINT = (
    " : il n'y a pas de modules ; l'horloge du dossier est now() (UTC) et today() (jour à Paris),"
    " avec add_days, add_months, parse_datetime, format_date"
)
_MODULES = {
    "time": _CLOCK_HINT,
    "datetime": _CLOCK_HINT,
    "date": _CLOCK_HINT,
    "json": " : il n'y a pas de modules ; gardez le dict tel quel, les données sont du JSON",
    "math": " : il n'y a pas de modules ; round(), abs(), min(), max() et ** existent",
}
"""What to write instead of a call into a Python module (`time.time()`, `datetime.utcnow()`)."""
_CONSTANT_TYPES = (type(None), bool, int, float, str)
_EXPLAINED = {
    "Import": "import is not allowed",
    "ImportFrom": "import is not allowed",
    "FunctionDef": "defining functions is not allowed",
    "AsyncFunctionDef": "defining functions is not allowed",
    "Lambda": "lambda is not allowed",
    "ClassDef": "defining classes is not allowed",
    "While": "while loops are not allowed; use for ... in range(n)",
    "Global": "global is not allowed",
    "Nonlocal": "nonlocal is not allowed",
    "With": "with is not allowed",
    "Try": "try/except is not allowed",
    "Raise": "raise is not allowed",
    "NamedExpr": "the := operator is not allowed",
    "Starred": "* unpacking is not allowed",
    "MatMult": "the @ operator is not allowed",
}


_PARSE_LOCK = threading.Lock()


def parse_python(source: str, *, mode: str = "exec") -> ast.AST:
    """`ast.parse`, one call at a time in this process; too deep a source is a `SyntaxError`.

    CPython 3.11 counts the AST constructor's recursion in one structure per interpreter. When
    two threads build trees at once (a garbage collection inside one lets the other run), one of
    them fails with a spurious `SystemError: AST constructor recursion depth mismatch`. The lock
    keeps our own parses apart; a clash with a library's own `ast.parse` (SpiffWorkflow's DMN
    parser has one) is retried once, as the counter is reset at each call.
    """
    with _PARSE_LOCK:
        try:
            try:
                return ast.parse(source, mode=mode)
            except SystemError as exc:
                if "recursion depth mismatch" not in str(exc):
                    raise
                return ast.parse(source, mode=mode)
        except (RecursionError, MemoryError) as exc:
            raise SyntaxError(f"too deeply nested ({type(exc).__name__})") from None


def parse_checked(source: str, *, mode: str, limits: Limits) -> ast.AST:
    """Parse `source` as an expression (`mode="eval"`) or script (`"exec"`) and check it."""
    if not isinstance(source, str):
        raise ForbiddenSyntax(f"source must be text, not {type(source).__name__}")
    if len(source) > limits.max_source_chars:
        raise ForbiddenSyntax(f"source longer than {limits.max_source_chars} characters")
    try:
        tree = parse_python(source.strip() if mode == "eval" else source, mode=mode)
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        raise ForbiddenSyntax(f"invalid syntax: {exc}", line=line).located(source, line) from exc
    allowed = _EXPRESSION_NODES if mode == "eval" else _SCRIPT_NODES
    pending: list[tuple[ast.AST, int, int | None]] = [(tree, 0, None)]
    while pending:
        node, depth, outer_line = pending.pop()
        line = getattr(node, "lineno", None) or outer_line
        if depth > limits.max_nesting:
            raise ForbiddenSyntax(f"nesting deeper than {limits.max_nesting}").located(source, line)
        try:
            _check_node(node, allowed)
        except EvaluationError as exc:
            raise exc.located(source, line) from None
        pending.extend((child, depth + 1, line) for child in ast.iter_child_nodes(node))
    return tree


def _check_node(node: ast.AST, allowed: frozenset[type[ast.AST]]) -> None:
    kind = type(node)
    if kind not in allowed:
        name = kind.__name__
        raise ForbiddenSyntax(_EXPLAINED.get(name, f"{name} is not allowed"))
    checker = _CHECKERS.get(kind)
    if checker is not None:
        checker(node)


def _check_name(node: Any) -> None:
    _check_identifier(node.id, "name")
    if node.id in _FORBIDDEN_NAMES:
        raise ForbiddenSyntax(f"{node.id}() is not available in expressions")


def _check_identifier(name: str, what: str) -> None:
    if name.startswith("_"):
        raise ForbiddenSyntax(
            f"{what} {name!r} is not allowed (names starting with _ are reserved)"
        )


def _check_attribute(node: Any) -> None:
    """`a.b` reads a key of dict data or an allowed attribute; never Python's own attributes."""
    _check_identifier(node.attr, "attribute")
    if node.attr in _PYTHON_ATTRIBUTES:
        raise ForbiddenSyntax(
            f"attribute or method {node.attr!r} is not allowed; for a key of the data "
            f'write x["{node.attr}"]'
        )
    if isinstance(node.ctx, ast.Store | ast.Del):
        raise ForbiddenSyntax("assigning or deleting attributes is not allowed")


def _check_constant(node: Any) -> None:
    if not isinstance(node.value, _CONSTANT_TYPES):
        raise ForbiddenSyntax(f"literal of type {type(node.value).__name__} is not allowed")


def _check_call(node: Any) -> None:
    if not isinstance(node.func, ast.Name | ast.Attribute):
        raise ForbiddenSyntax("only named functions and methods can be called")
    if isinstance(node.func, ast.Name) and node.func.id not in FUNCTIONS:
        _refuse_unknown_function(node.func.id)
    if isinstance(node.func, ast.Attribute) and node.func.attr not in METHOD_NAMES:
        _check_identifier(node.func.attr, "attribute")
        owner = node.func.value.id if isinstance(node.func.value, ast.Name) else ""
        hint = _MODULES.get(owner, "")
        raise ForbiddenSyntax(f"attribute or method {node.func.attr!r} is not allowed{hint}")
    for keyword in node.keywords:
        if keyword.arg is None:
            raise ForbiddenSyntax("** unpacking is not allowed")
        _check_identifier(keyword.arg, "keyword")


def _refuse_unknown_function(name: str) -> None:
    """Only the library's functions can be called (data values are never callable)."""
    _check_identifier(name, "name")
    if name in _FORBIDDEN_NAMES:
        raise ForbiddenSyntax(f"{name}() is not available in expressions")
    hint = _INSTEAD.get(name)
    if hint is None:
        hint = (
            f"fonction {name}() inconnue ; fonctions disponibles : {', '.join(sorted(FUNCTIONS))}"
        )
    raise ForbiddenSyntax(hint)


def _check_binop(node: Any) -> None:
    """`"text" % args` is refused here as at run time (where any string on the left is)."""
    if isinstance(node.op, ast.Mod) and (
        isinstance(node.left, ast.JoinedStr)
        or (isinstance(node.left, ast.Constant) and isinstance(node.left.value, str))
    ):
        raise ForbiddenSyntax(
            'le formatage avec % n\'est pas permis : écrivez une f-string, f"{x} {y}"'
        )


def _check_formatted(node: Any) -> None:
    spec = node.format_spec
    if spec is None:
        return
    if not all(isinstance(part, ast.Constant) for part in spec.values):
        raise ForbiddenSyntax("format specs must be constant (no nested {...})")
    check_format_spec("".join(str(part.value) for part in spec.values))


def _check_dict(node: Any) -> None:
    if any(key is None for key in node.keys):
        raise ForbiddenSyntax("** unpacking is not allowed")


def _check_targets(node: Any) -> None:
    targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
    for target in targets:
        _check_target(target, unpack=isinstance(node, ast.Assign | ast.For | ast.comprehension))


def _check_target(target: ast.AST, *, unpack: bool) -> None:
    if isinstance(target, ast.Name | ast.Subscript):
        return
    if unpack and isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            _check_target(element, unpack=False)
        return
    raise ForbiddenSyntax(f"cannot assign to {type(target).__name__}")


def _check_comprehension(node: Any) -> None:
    if node.is_async:
        raise ForbiddenSyntax("async comprehensions are not allowed")
    _check_targets(node)


def _check_for(node: Any) -> None:
    if node.orelse:
        raise ForbiddenSyntax("for ... else is not allowed")
    _check_targets(node)


_CHECKERS: dict[type[ast.AST], Any] = {
    ast.Name: _check_name,
    ast.Attribute: _check_attribute,
    ast.Constant: _check_constant,
    ast.Call: _check_call,
    ast.BinOp: _check_binop,
    ast.Dict: _check_dict,
    ast.FormattedValue: _check_formatted,
    ast.Assign: _check_targets,
    ast.AugAssign: _check_targets,
    ast.Delete: _check_targets,
    ast.For: _check_for,
    ast.comprehension: _check_comprehension,
}
