"""Every module of the product imports, and every import statement written inside a function
(the lazy ones, which keep start-up light) or for the type checker names something that exists:
a lazy import broken by a rename fails here, not in the first request that runs it."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("engine", "web", "signatures", "archiving", "connectors", "devstack")
FACADES = ("signatures", "archiving", "connectors")


def _modules() -> Iterator[str]:
    for package in PACKAGES:
        yield package
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, f"{package}."):
            if ".migrations." in f"{info.name}.":
                continue  # alembic revision scripts, run by alembic only
            yield info.name


MODULES = sorted(_modules())


def _deferred_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements not run when the module is imported: in a function or a class body's
    function, or under `if TYPE_CHECKING:`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or (
            isinstance(node, ast.If)
            and isinstance(node.test, ast.Name)
            and node.test.id == "TYPE_CHECKING"
        ):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    yield inner


def _resolve(statement: ast.Import | ast.ImportFrom, package: str) -> list[str]:
    problems: list[str] = []
    if isinstance(statement, ast.Import):
        for alias in statement.names:
            try:
                importlib.import_module(alias.name)
            except ImportError as exc:
                problems.append(f"ligne {statement.lineno} : import {alias.name} ({exc})")
        return problems
    name = (
        importlib.util.resolve_name("." * statement.level + (statement.module or ""), package)
        if statement.level
        else statement.module or ""
    )
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        return [f"ligne {statement.lineno} : from {name} ({exc})"]
    for alias in statement.names:
        if alias.name == "*" or hasattr(module, alias.name):
            continue
        try:
            importlib.import_module(f"{name}.{alias.name}")
        except ImportError:
            problems.append(f"ligne {statement.lineno} : {alias.name} absent de {name}")
    return problems


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_and_deferred_import_resolves(package: str) -> None:
    problems: list[str] = []
    for name in (m for m in MODULES if m == package or m.startswith(f"{package}.")):
        try:
            module = importlib.import_module(name)
        except Exception as exc:
            problems.append(f"{name} : {type(exc).__name__}: {exc}")
            continue
        source = Path(module.__file__ or "")
        if source.suffix != ".py":
            continue
        tree = ast.parse(source.read_text(encoding="utf-8"))
        parent = name if source.name == "__init__.py" else name.rpartition(".")[0]
        problems += [f"{name} {p}" for p in _deferred_imports_problems(tree, parent)]
    assert not problems, "\n".join(problems)


def _deferred_imports_problems(tree: ast.Module, package: str) -> list[str]:
    return [p for statement in _deferred_imports(tree) for p in _resolve(statement, package)]


@pytest.mark.parametrize("package", FACADES)
def test_lazy_facade_exports_resolve(package: str) -> None:
    """`from signatures import X` works for each X of `__all__` (imported on first use)."""
    module = importlib.import_module(package)
    missing = [name for name in module.__all__ if getattr(module, name, None) is None]
    assert not missing, f"{package} : {missing}"
    assert set(module.__all__) == set(module._LAZY_NAMES), "__all__ et les noms différés diffèrent"
