"""Services, operations and jobs never commit: only the runners and the edges do.

The request edge (web routes through their dependency, CLI commands) and the two runners (the
job runner of service-task operations, the driver of periodic jobs) own transactions; the
composition root commits once, when it deploys procedures at start-up.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DRIVERS = frozenset(
    {"engine/jobs/runner.py", "engine/operations/runner.py", "engine/worker/fair_share.py"}
)
"""The runners, the only modules of the engine's use-case layers allowed to commit, and the
fair-share pump, which claims a job in a committed transaction before it hands it to the
broker (so that racing releases never send it twice)."""
EDGES = ("engine/cli/", "engine/bootstrap.py", "engine/persistence/")
"""CLI commands (a request edge), the composition root, and the unit of work itself."""


def _commit_calls(path: Path) -> list[int]:
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "commit"
    ]


def test_only_the_runners_and_edges_commit() -> None:
    found = []
    for path in sorted((ROOT / "engine").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        if name in DRIVERS or name.startswith(EDGES):
            continue
        found += [f"{name}:{line}" for line in _commit_calls(path)]
    assert found == [], "commit outside the runners (hand the step to a runner): " + ", ".join(
        found
    )


def test_the_runners_commit() -> None:
    """The scan sees a commit where there is one (it would otherwise pass vacuously)."""
    for name in sorted(DRIVERS):
        assert _commit_calls(ROOT / name), name
