"""Migrating running cases between two versions of each shipped procedure, paused at every
place a scenario waits (user tasks, messages, timers, service calls in flight).

v2 with relabelled forms and an added optional field: every case migrates, keeps its waits
(same task ids, same timer due dates, same message correlations) and then finishes its
scenario on v2 with the same path and data. v2 with a user task removed: a case waiting at it,
or that already went through it, is refused with the reason and left as it was.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.util.task import TaskState

from engine.runtime.clock import frozen_now
from engine.runtime.facade import CaseRuntime
from engine.runtime.migration import migrate_case
from engine.runtime.specs import ParsedProcess, parse_bundle, read_procedure_dir
from tests.support import scenarios as harness
from tests.support.versions import ADDED_FIELD, REMOVABLE, pauses, relabelled, without_task

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
PROCEDURES = sorted(REMOVABLE)


@cache
def versions(procedure: str) -> tuple[ParsedProcess, ParsedProcess, ParsedProcess]:
    v1 = read_procedure_dir(PROCESSES / procedure)
    return (
        parse_bundle(v1),
        parse_bundle(relabelled(v1)),
        parse_bundle(without_task(v1, REMOVABLE[procedure])),
    )


def _cases() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (procedure, name, scenario)
        for procedure in PROCEDURES
        for name, scenario in harness.load_scenarios(PROCESSES / procedure)
    ]


def _finish(
    runtime: CaseRuntime, scenario: dict[str, Any], pause: int, now: Any, name: str
) -> None:
    steps = scenario.get("steps") or []
    for index, step in enumerate(steps[pause:], start=pause + 1):
        runtime = harness._round_trip(runtime)
        with frozen_now(now):
            now = harness._apply_step(runtime, step, now, f"{name} (v2), étape {index}")
    runtime = harness._round_trip(runtime)
    result = harness.ScenarioResult(
        name, runtime.completed_nodes(), runtime.data, runtime.completed
    )
    harness._check(result, scenario.get("expect") or {}, f"{name} migré à l'étape {pause}")


@pytest.mark.parametrize(
    ("procedure", "name", "scenario"), _cases(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_pause_migrates_to_relabelled_version_and_finishes(
    procedure: str, name: str, scenario: dict[str, Any]
) -> None:
    v1, v2, _ = versions(procedure)
    for pause, (dumped, now) in enumerate(pauses(v1, scenario, name)):
        runtime = CaseRuntime.restore_dumped(v1, dumped)
        if runtime.completed:
            continue
        before = runtime.snapshot()
        preview, migrated = migrate_case(v1, v2, runtime.dump())
        assert preview.migrable, (name, pause, preview.reasons)
        assert migrated is not None and migrated.parsed is v2
        assert all(check.exists for check in preview.waits)
        after = migrated.snapshot()
        assert [t.id for t in after.ready] == [t.id for t in before.ready]
        assert [(t.task_id, t.due_at) for t in after.timers] == [
            (t.task_id, t.due_at) for t in before.timers
        ]
        assert after.messages == before.messages
        for task in after.ready:
            if task.form is not None:
                assert ADDED_FIELD in task.form["properties"]
                assert any("champs ajoutés : Remarque (v2)" in e for e in preview.effects)
        _finish(migrated, scenario, pause, now, name)


@pytest.mark.parametrize(
    ("procedure", "name", "scenario"), _cases(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_removed_task_refuses_cases_at_or_past_it(
    procedure: str, name: str, scenario: dict[str, Any]
) -> None:
    v1, _, v2 = versions(procedure)
    removed = REMOVABLE[procedure]
    for pause, (dumped, _now) in enumerate(pauses(v1, scenario, name)):
        runtime = CaseRuntime.restore_dumped(v1, dumped)
        if runtime.completed:
            continue
        preview, migrated = migrate_case(v1, v2, dumped)
        waiting_at = any(t.name == removed for t in runtime.ready_tasks())
        went_through = any(
            task.task_spec.bpmn_id == removed
            for task in runtime._workflow.get_tasks(state=TaskState.FINISHED_MASK)
        )
        if waiting_at:
            assert not preview.migrable and migrated is None
            assert any(removed in r and "n'existe pas" in r for r in preview.reasons), preview
        elif went_through:
            assert not preview.migrable and migrated is None
            assert any(removed in r and "historique" in r for r in preview.reasons), preview
        else:
            assert preview.migrable, (name, pause, preview.reasons)
            assert migrated is not None
        # The stored state is never changed by a refused (or a previewed) migration.
        assert runtime.dump() == dumped
