"""Scenario tests of every procedure: each step saved and restored; every flow node visited."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.bootstrap import build_operations
from engine.operations.base import OperationRegistry
from engine.runtime.specs import flow_nodes, parse_bundle, read_procedure_dir
from engine.settings import Settings
from tests.support.scenarios import load_scenarios, run_scenario

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
PROCEDURES = sorted(p for p in PROCESSES.iterdir() if (p / "procedure.yaml").is_file())


def _operations() -> OperationRegistry:
    """Every operation the platform registers, with their parameters."""
    return build_operations(Settings())


def _cases() -> list[tuple[Path, str, dict[str, object]]]:
    return [(d, name, sc) for d in PROCEDURES for name, sc in load_scenarios(d)]


@pytest.mark.parametrize(
    ("directory", "name", "scenario"), _cases(), ids=[f"{d.name}/{n}" for d, n, _ in _cases()]
)
def test_scenario(directory: Path, name: str, scenario: dict[str, object]) -> None:
    parsed = parse_bundle(read_procedure_dir(directory))
    result = run_scenario(parsed, name, scenario)
    assert result.round_trips >= 2


@pytest.mark.parametrize("directory", PROCEDURES, ids=[d.name for d in PROCEDURES])
def test_every_flow_node_is_covered_by_a_scenario(directory: Path) -> None:
    parsed = parse_bundle(read_procedure_dir(directory), operations=None)
    visited: set[str] = set()
    for name, scenario in load_scenarios(directory):
        visited.update(run_scenario(parsed, name, scenario).visited)
    missing = flow_nodes(parsed) - visited
    assert not missing, f"nœuds jamais atteints par les scénarios : {sorted(missing)}"


@pytest.mark.parametrize("directory", PROCEDURES, ids=[d.name for d in PROCEDURES])
def test_procedure_deploys_with_known_operations(directory: Path) -> None:
    parse_bundle(read_procedure_dir(directory), operations=_operations())
