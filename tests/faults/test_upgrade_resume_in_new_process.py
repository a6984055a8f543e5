"""A case saved inside a loop or multi-instance task goes on in a process that parsed its
definition afresh, as after an upgrade or a restart (`engine.runtime.multi_instance`).

Found by the upgrade test (test_upgrade_release_83599e0.py): a deliberation saved during its
visa circuit and resumed by a newly started process stopped after the last visa, with no step
ready, because SpiffWorkflow wires an instance's completion to its multi-instance task only in
the process that created the instance.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from engine.runtime.clock import frozen_now
from engine.runtime.facade import CaseRuntime
from engine.runtime.specs import ParsedProcess, parse_bundle, read_procedure_dir
from tests.support.scenarios import _apply_step, _parse_start

pytestmark = pytest.mark.faults

DELIBERATION = Path(__file__).resolve().parents[2] / "processes" / "deliberation"


def fresh() -> ParsedProcess:
    """The definition as a newly started process parses it (not the shared cached one)."""
    return parse_bundle(read_procedure_dir(DELIBERATION))


@pytest.mark.parametrize("resumed_after", [1, 2, 5, 6])
def test_a_case_resumed_by_a_new_process_inside_the_visa_circuit_goes_on(
    resumed_after: int,
) -> None:
    scenario = yaml.safe_load(
        (DELIBERATION / "scenarios" / "visas_refuses_puis_accordes.yaml").read_text()
    )
    steps = scenario["steps"]
    now = _parse_start(scenario.get("start_at"))
    parsed = fresh()
    with frozen_now(now):
        runtime = CaseRuntime.start(parsed, dict(scenario.get("start") or {}))
    for index, step in enumerate(steps, start=1):
        if index == resumed_after + 1:
            parsed = fresh()
        runtime = CaseRuntime.restore_dumped(parsed, runtime.dump())
        with frozen_now(now):
            now = _apply_step(runtime, step, now, f"étape {index}")
    assert runtime.completed
