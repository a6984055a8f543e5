"""The table of operation modules the registry imports on first use matches the modules."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import engine.operations
from engine.bootstrap import OPERATION_MODULES, build_operations, product_operations
from engine.domain.errors import ProcessDefinitionError
from engine.operations.base import OperationFailed
from engine.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_table_names_every_operation_of_every_module() -> None:
    found: dict[str, str] = {}
    for info in pkgutil.iter_modules(engine.operations.__path__, "engine.operations."):
        module = importlib.import_module(info.name)
        for operation in getattr(module, "OPERATIONS", ()):
            assert operation.name not in found, f"{operation.name} déclarée deux fois"
            found[operation.name] = info.name
    assert found == OPERATION_MODULES
    assert {o.name for o in product_operations()} == set(OPERATION_MODULES)


def test_registry_imports_a_module_when_its_operation_is_asked_for() -> None:
    script = (
        "import json, sys\n"
        "from engine.bootstrap import build_operations\n"
        "from engine.settings import Settings\n"
        "registry = build_operations(Settings())\n"
        "before = 'engine.operations.signing' in sys.modules\n"
        "queue = registry.get('engine.compute_deadline').queue\n"
        "after_deadline = 'engine.operations.signing' in sys.modules\n"
        "registry.get('signatures.sign')\n"
        "print(json.dumps([before, after_deadline, 'engine.operations.signing' in sys.modules,"
        " queue, len(registry.names())]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    before, after_deadline, after_sign, queue, count = json.loads(done.stdout.splitlines()[-1])
    assert (before, after_deadline, after_sign) == (False, False, True)
    assert queue == "engine" and count == len(OPERATION_MODULES)


def test_unknown_and_duplicate_operations_are_refused() -> None:
    registry = build_operations(Settings())
    with pytest.raises(OperationFailed):
        registry.get("inconnue.nulle_part")
    with pytest.raises(ProcessDefinitionError):
        registry.check_service_task("inconnue.nulle_part", {})
    extension = Settings().model_copy(update={"operation_modules": ("engine.operations.mail",)})
    with pytest.raises(ValueError, match="registered twice"):
        build_operations(extension)
