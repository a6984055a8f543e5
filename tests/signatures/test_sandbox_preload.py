"""The forkserver preloads what the bounded children use: `signatures.intake` imports pikepdf
and pyHanko inside its functions, so the forkserver names those modules itself."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from signatures import sandbox

ROOT = Path(__file__).resolve().parents[2]


def test_preload_covers_the_lazy_imports_of_intake() -> None:
    tree = ast.parse((ROOT / "signatures" / "intake.py").read_text(encoding="utf-8"))
    lazy = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef)
        for node in ast.walk(function)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert lazy, "signatures.intake n'importe plus rien dans ses fonctions : revoir ce test"
    script = (
        "import importlib, json, sys\n"
        f"for name in {sandbox._PRELOAD!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    preloaded = set(json.loads(done.stdout.splitlines()[-1]))
    missing = sorted(name for name in lazy if name and name not in preloaded)
    assert not missing, f"absents du préchargement du forkserver : {missing}"
