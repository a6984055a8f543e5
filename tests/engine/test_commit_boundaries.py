"""Services and jobs never commit: only the job driver (and the request edge outside) does."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("engine/services", "engine/jobs")
DRIVERS = frozenset({"engine/jobs/runner.py"})
"""The only modules of the scanned packages allowed to commit a unit of work."""
BEING_MOVED = frozenset(
    {
        # Service-task operations: moving to engine/operations with their own runner in the
        # same wave; the integrator tightens this list once both are merged.
        "engine/services/operations.py",
        "engine/services/jobs.py",
        "engine/services/archive_operations.py",
        "engine/services/connector_operations.py",
        "engine/services/signing_operations.py",
    }
)


def _commit_calls(path: Path) -> list[int]:
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "commit"
    ]


def test_only_the_drivers_commit() -> None:
    found = []
    for package in SCANNED:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name in DRIVERS or name in BEING_MOVED:
                continue
            found += [f"{name}:{line}" for line in _commit_calls(path)]
    assert found == [], "commit outside the drivers (hand the step to the runner): " + ", ".join(
        found
    )


def test_the_driver_commits() -> None:
    """The scan sees a commit where there is one (it would otherwise pass vacuously)."""
    for name in DRIVERS:
        assert _commit_calls(ROOT / name)
