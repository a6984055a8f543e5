"""The table row of a conformance test and its check."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.engine.conformance.models import Model
from tests.engine.conformance.runner import Step, path, run


@dataclass(frozen=True)
class Case:
    name: str
    model: Model
    expected_path: list[str]
    data: dict[str, Any] = field(default_factory=dict)
    """Keys the final data must hold, with their values."""
    start: dict[str, Any] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    completed: bool = True


def check(case: Case) -> None:
    runtime = run(case.model, case.start, case.steps)
    visited = path(case.model, runtime)
    assert visited == case.expected_path, f"path {visited} != {case.expected_path}"
    assert runtime.completed is case.completed, f"completed: {runtime.completed}"
    final = runtime.data
    for key, value in case.data.items():
        assert final.get(key) == value, f"{key}: {final.get(key)!r} != {value!r}"
