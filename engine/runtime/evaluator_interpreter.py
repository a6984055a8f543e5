"""The tree-walking interpreter of the BPMN evaluator; only `evaluator` should call it.

It walks trees that `evaluator_check` accepted. Every node costs a step of the `Budget`;
values read from task data are checked to be plain data; assignments go to the task data
mapping (or to a comprehension's own scope); `break`/`continue` are exceptions.
"""

from __future__ import annotations

import ast
import decimal
import operator
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from datetime import timedelta
from typing import Any

from engine.runtime.evaluator_base import (
    CONTAINER_TYPES,
    Budget,
    EvaluationError,
    ForbiddenSyntax,
    check_value,
)
from engine.runtime.evaluator_library import (
    FUNCTIONS,
    SafeFunction,
    call_function,
    call_method,
    format_value,
    get_attribute,
)
from engine.runtime.evaluator_operators import binary_operation, compare

__all__ = ["BreakLoop", "ContinueLoop", "Interpreter"]

_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Invert: operator.invert,
}


class BreakLoop(Exception):
    pass


class ContinueLoop(Exception):
    pass


class Interpreter:
    """Walks a checked tree. Every node visited costs one step of the budget."""

    def __init__(
        self,
        budget: Budget,
        variables: Mapping[str, Any],
        fallback: Sequence[Mapping[str, Any]],
    ) -> None:
        self.budget = budget
        self.variables = variables
        self.fallback = fallback
        self.scopes: list[dict[str, Any]] = []
        self.assigned: set[str] = set()
        self.line: int | None = None

    # -- names -----------------------------------------------------------------------------------

    def lookup(self, name: str) -> Any:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        for mapping in (self.variables, *self.fallback):
            if name in mapping:
                return check_value(mapping[name], f"variable {name!r}")
        if name in FUNCTIONS:
            return FUNCTIONS[name]
        raise EvaluationError(f"name {name!r} is not defined")

    def store(self, name: str, value: Any) -> None:
        if self.scopes:
            self.scopes[-1][name] = value
            return
        if not isinstance(self.variables, MutableMapping):
            raise EvaluationError("assignment is not allowed in an expression")
        self.variables[name] = value
        self.assigned.add(name)

    # -- expressions -----------------------------------------------------------------------------

    def value(self, node: ast.expr) -> Any:
        """Evaluate `node` to a data value (functions are not values)."""
        result = self.expr(node)
        if type(result) is SafeFunction:
            raise EvaluationError(f"function {result.name}() must be called, not used as a value")
        return result

    def expr(self, node: ast.expr) -> Any:
        self.budget.step()
        handler = _EXPRESSIONS.get(type(node))
        if handler is None:  # pragma: no cover - the checker refuses other nodes first
            raise ForbiddenSyntax(f"{type(node).__name__} is not allowed")
        return handler(self, node)

    def constant(self, node: ast.Constant) -> Any:
        return self.budget.charge_size(node.value)

    def name(self, node: ast.Name) -> Any:
        return self.lookup(node.id)

    def attribute(self, node: ast.Attribute) -> Any:
        return get_attribute(self.value(node.value), node.attr, where=_text(node.value))

    def subscript(self, node: ast.Subscript) -> Any:
        container = self.value(node.value)
        key = self.index(node.slice)
        if type(container) not in (list, tuple, dict, str):
            raise EvaluationError(f"{type(container).__name__} cannot be indexed")
        self.budget.guard_deep(key)
        try:
            item = container[key]
        except KeyError:
            raise EvaluationError(f"key {key!r} not found") from None
        except (IndexError, TypeError) as exc:
            raise EvaluationError(f"bad index {key!r}: {exc}") from None
        return self.budget.charge_size(check_value(item, "item"))

    def index(self, node: ast.expr) -> Any:
        if not isinstance(node, ast.Slice):
            return self.value(node)
        parts = [
            None if part is None else self.value(part)
            for part in (node.lower, node.upper, node.step)
        ]
        if any(part is not None and type(part) is not int for part in parts):
            raise EvaluationError("slice bounds must be integers")
        return slice(*parts)

    def boolean(self, node: ast.BoolOp) -> Any:
        result: Any = None
        for operand in node.values:
            result = self.value(operand)
            if isinstance(node.op, ast.And) != bool(result):
                return result
        return result

    def binary(self, node: ast.BinOp) -> Any:
        return binary_operation(self.budget, node.op, self.value(node.left), self.value(node.right))

    def unary(self, node: ast.UnaryOp) -> Any:
        operand = self.value(node.operand)
        if isinstance(node.op, ast.Not):
            return not operand
        if type(operand) in (bool, int, float, decimal.Decimal) or (
            type(operand) is timedelta and not isinstance(node.op, ast.Invert)
        ):
            return _UNARY[type(node.op)](operand)
        raise EvaluationError(f"bad operand type for unary operator: {type(operand).__name__}")

    def comparison(self, node: ast.Compare) -> bool:
        left = self.value(node.left)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = self.value(right_node)
            if not compare(self.budget, op, left, right):
                return False
            left = right
        return True

    def if_expression(self, node: ast.IfExp) -> Any:
        return self.value(node.body) if self.value(node.test) else self.value(node.orelse)

    def call(self, node: ast.Call) -> Any:
        args = tuple(self.value(arg) for arg in node.args)
        kwargs = {str(keyword.arg): self.value(keyword.value) for keyword in node.keywords}
        if isinstance(node.func, ast.Attribute):
            receiver = self.value(node.func.value)
            return call_method(self.budget, receiver, node.func.attr, args, kwargs)
        function = self.expr(node.func)
        if type(function) is not SafeFunction:
            raise EvaluationError(f"{type(function).__name__} value is not callable")
        return call_function(self.budget, function, args, kwargs)

    def sequence(self, node: ast.List | ast.Tuple | ast.Set) -> Any:
        self.budget.require_length(len(node.elts), "display")
        items = [self.value(element) for element in node.elts]
        if isinstance(node, ast.Set):
            for item in items:
                self.budget.guard_deep(item)
            return self.budget.charge_size(set(items))
        return self.budget.charge_size(tuple(items) if isinstance(node, ast.Tuple) else items)

    def mapping(self, node: ast.Dict) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for key_node, value_node in zip(node.keys, node.values, strict=True):
            assert key_node is not None  # the checker refuses ** unpacking
            key = self.value(key_node)
            self.budget.guard_deep(key)
            result[key] = self.value(value_node)
        return dict(self.budget.charge_size(result))

    def formatted_string(self, node: ast.JoinedStr) -> str:
        parts: list[str] = []
        for part in node.values:
            if isinstance(part, ast.Constant):
                parts.append(str(part.value))
                continue
            assert isinstance(part, ast.FormattedValue)
            spec = "" if part.format_spec is None else self.constant_spec(part.format_spec)
            parts.append(format_value(self.budget, self.value(part.value), part.conversion, spec))
            self.budget.require_length(sum(len(p) for p in parts), "f-string")
        return str(self.budget.charge_size("".join(parts)))

    @staticmethod
    def constant_spec(node: ast.expr) -> str:
        assert isinstance(node, ast.JoinedStr)
        return "".join(str(part.value) for part in node.values if isinstance(part, ast.Constant))

    def comprehension(
        self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
    ) -> Any:
        collected: list[Any] = []
        self.scopes.append({})
        try:
            for _ in self.generate(node.generators, 0):
                if isinstance(node, ast.DictComp):
                    key = self.value(node.key)
                    self.budget.guard_deep(key)
                    collected.append((key, self.value(node.value)))
                else:
                    collected.append(self.value(node.elt))
                self.budget.require_length(len(collected), "comprehension")
        finally:
            self.scopes.pop()
        if isinstance(node, ast.DictComp):
            return self.budget.charge_size(dict(collected))
        if isinstance(node, ast.SetComp):
            for item in collected:
                self.budget.guard_deep(item)
            return self.budget.charge_size(set(collected))
        return self.budget.charge_size(collected)

    def generate(self, generators: list[ast.comprehension], position: int) -> Iterator[None]:
        if position == len(generators):
            yield None
            return
        generator = generators[position]
        for item in self.iterate(self.value(generator.iter)):
            self.assign(generator.target, item)
            if all(self.value(condition) for condition in generator.ifs):
                yield from self.generate(generators, position + 1)

    def iterate(self, iterable: Any) -> list[Any]:
        """A snapshot of what a loop walks, so that changing it inside the loop cannot extend it."""
        if type(iterable) not in (*CONTAINER_TYPES, str):
            raise EvaluationError(f"cannot loop over {type(iterable).__name__}")
        return [check_value(item, "loop item") for item in iterable]

    # -- statements ------------------------------------------------------------------------------

    def statement(self, node: ast.stmt) -> None:
        self.budget.step()
        self.line = node.lineno
        handler = _STATEMENTS.get(type(node))
        if handler is None:  # pragma: no cover - the checker refuses other nodes first
            raise ForbiddenSyntax(f"{type(node).__name__} is not allowed")
        handler(self, node)

    def block(self, statements: list[ast.stmt]) -> None:
        for statement in statements:
            self.statement(statement)

    def expression_statement(self, node: ast.Expr) -> None:
        self.expr(node.value)

    def assignment(self, node: ast.Assign) -> None:
        value = self.value(node.value)
        for target in node.targets:
            self.assign(target, value)

    def assign(self, target: ast.expr, value: Any) -> None:
        if isinstance(target, ast.Name):
            self.store(target.id, value)
        elif isinstance(target, ast.Subscript):
            container = self.value(target.value)
            self.set_item(container, self.index(target.slice), value)
        elif isinstance(target, ast.Tuple | ast.List):
            if type(value) not in (list, tuple) or len(value) != len(target.elts):
                raise EvaluationError(
                    f"cannot unpack {type(value).__name__} into {len(target.elts)} names"
                )
            for element, item in zip(target.elts, value, strict=True):
                self.assign(element, item)
        else:  # pragma: no cover - the checker refuses other targets
            raise ForbiddenSyntax(f"cannot assign to {type(target).__name__}")

    def set_item(self, container: Any, key: Any, value: Any) -> None:
        if type(container) not in (list, dict):
            raise EvaluationError(f"{type(container).__name__} items cannot be assigned")
        self.budget.guard_deep(key)
        try:
            container[key] = value
        except (IndexError, TypeError, ValueError) as exc:
            raise EvaluationError(f"cannot assign item {key!r}: {exc}") from None
        self.budget.charge_size(container)

    def augmented(self, node: ast.AugAssign) -> None:
        target = node.target
        if isinstance(target, ast.Name):
            current = self.lookup(target.id)
            self.store(
                target.id, binary_operation(self.budget, node.op, current, self.value(node.value))
            )
            return
        assert isinstance(target, ast.Subscript)
        container = self.value(target.value)
        key = self.index(target.slice)
        if type(container) not in (list, dict):
            raise EvaluationError(f"{type(container).__name__} items cannot be assigned")
        try:
            current = container[key]
        except (KeyError, IndexError, TypeError) as exc:
            raise EvaluationError(f"bad index {key!r}: {exc}") from None
        result = binary_operation(self.budget, node.op, current, self.value(node.value))
        self.set_item(container, key, result)

    def conditional(self, node: ast.If) -> None:
        self.block(node.body if self.value(node.test) else node.orelse)

    def loop(self, node: ast.For) -> None:
        for item in self.iterate(self.value(node.iter)):
            self.assign(node.target, item)
            try:
                self.block(node.body)
            except BreakLoop:
                break
            except ContinueLoop:
                continue

    def deletion(self, node: ast.Delete) -> None:
        for target in node.targets:
            if isinstance(target, ast.Name):
                if (
                    not isinstance(self.variables, MutableMapping)
                    or target.id not in self.variables
                ):
                    raise EvaluationError(f"name {target.id!r} is not defined")
                del self.variables[target.id]
                self.assigned.discard(target.id)
                continue
            assert isinstance(target, ast.Subscript)
            container = self.value(target.value)
            key = self.index(target.slice)
            if type(container) not in (list, dict):
                raise EvaluationError(f"cannot delete items of {type(container).__name__}")
            try:
                del container[key]
            except (KeyError, IndexError, TypeError) as exc:
                raise EvaluationError(f"cannot delete item {key!r}: {exc}") from None

    def stop_loop(self, node: ast.Break | ast.Continue) -> None:
        raise BreakLoop() if isinstance(node, ast.Break) else ContinueLoop()


def _text(node: ast.expr) -> str:
    """Short source text of an expression, for error messages."""
    text = ast.unparse(node)
    return text if len(text) <= 60 else text[:57] + "..."


_EXPRESSIONS: dict[type[ast.AST], Callable[[Interpreter, Any], Any]] = {
    ast.Constant: Interpreter.constant,
    ast.Name: Interpreter.name,
    ast.Attribute: Interpreter.attribute,
    ast.Subscript: Interpreter.subscript,
    ast.BoolOp: Interpreter.boolean,
    ast.BinOp: Interpreter.binary,
    ast.UnaryOp: Interpreter.unary,
    ast.Compare: Interpreter.comparison,
    ast.IfExp: Interpreter.if_expression,
    ast.Call: Interpreter.call,
    ast.List: Interpreter.sequence,
    ast.Tuple: Interpreter.sequence,
    ast.Set: Interpreter.sequence,
    ast.Dict: Interpreter.mapping,
    ast.JoinedStr: Interpreter.formatted_string,
    ast.ListComp: Interpreter.comprehension,
    ast.SetComp: Interpreter.comprehension,
    ast.DictComp: Interpreter.comprehension,
    ast.GeneratorExp: Interpreter.comprehension,
}
_STATEMENTS: dict[type[ast.AST], Callable[[Interpreter, Any], None]] = {
    ast.Expr: Interpreter.expression_statement,
    ast.Assign: Interpreter.assignment,
    ast.AugAssign: Interpreter.augmented,
    ast.If: Interpreter.conditional,
    ast.For: Interpreter.loop,
    ast.Pass: lambda run, node: None,
    ast.Break: Interpreter.stop_loop,
    ast.Continue: Interpreter.stop_loop,
    ast.Delete: Interpreter.deletion,
}
