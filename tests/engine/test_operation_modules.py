"""The composition root registers every operation module by a plain import, and importing them
all loads none of the libraries their work uses."""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import engine.operations
from engine.bootstrap import OPERATIONS, build_operations
from engine.domain.errors import ProcessDefinitionError
from engine.operations import signing
from engine.operations.base import OperationFailed
from engine.settings import Settings

ROOT = Path(__file__).resolve().parents[2]

WORK_LIBRARIES = (
    "SpiffWorkflow",
    "alembic",
    "fontTools",
    "fpdf",
    "httpx",
    "lxml",
    "minio",
    "pikepdf",
    "pyhanko",
    "xmlschema",
)
"""What the operations' work needs (signing, SEDA, @ctes, rendering, the case runtime): each
module imports it when an operation runs, not when the registry is built."""


def _operation_modules() -> dict[str, list[str]]:
    """Module → names of the operations its `OPERATIONS` declares."""
    found: dict[str, list[str]] = {}
    for info in pkgutil.iter_modules(engine.operations.__path__, "engine.operations."):
        declared = getattr(importlib.import_module(info.name), "OPERATIONS", None)
        if declared is not None:
            found[info.name] = [operation.name for operation in declared]
    return found


def test_bootstrap_imports_every_operation_module_plainly() -> None:
    """`from engine.operations import …` in engine/bootstrap.py names each module that declares
    operations, and the registry holds each of their operations once."""
    tree = ast.parse((ROOT / "engine" / "bootstrap.py").read_text(encoding="utf-8"))
    imported = {
        f"engine.operations.{alias.name}"
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module == "engine.operations"
        for alias in node.names
    }
    modules = _operation_modules()
    assert imported == set(modules)
    names = [operation.name for operation in OPERATIONS]
    assert len(names) == len(set(names))
    assert sorted(names) == sorted(n for declared in modules.values() for n in declared)
    assert build_operations(Settings()).names() == sorted(names)


def test_building_the_registry_loads_no_library_of_the_work() -> None:
    script = (
        "import json, sys\n"
        "from engine.bootstrap import build_operations\n"
        "from engine.settings import Settings\n"
        "registry = build_operations(Settings())\n"
        "registry.get('signatures.sign'); registry.get('engine.notify_cases')\n"
        "registry.get('connectors.actes_transmit').problems({'nature': '1'})\n"
        "registry.check_service_task(\n"
        "    'signatures.sign', {'document': 'doc', 'signataire': 'par', 'niveau': '\"B-LTA\"'}\n"
        ")\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert not loaded & set(WORK_LIBRARIES), sorted(loaded & set(WORK_LIBRARIES))


def test_signature_levels_checked_at_deployment_are_pyhankos() -> None:
    from signatures import PadesLevel

    assert tuple(level.value for level in PadesLevel) == signing.LEVELS
    registry = build_operations(Settings())
    with pytest.raises(ProcessDefinitionError, match="Niveau de signature inconnu"):
        registry.check_service_task("signatures.seal", {"document": "doc", "niveau": '"B-XL"'})


def test_unknown_and_duplicate_operations_are_refused() -> None:
    registry = build_operations(Settings())
    with pytest.raises(OperationFailed):
        registry.get("inconnue.nulle_part")
    with pytest.raises(ProcessDefinitionError):
        registry.check_service_task("inconnue.nulle_part", {})
    extension = Settings().model_copy(update={"operation_modules": ("engine.operations.mail",)})
    with pytest.raises(ValueError, match="registered twice"):
        build_operations(extension)
