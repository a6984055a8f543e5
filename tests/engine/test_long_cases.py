"""Long cases: pruning the finished past of the task tree keeps what a case does.

Every save prunes (`CaseRuntime.dump`); the reference runs play the same steps on one runtime
that is never saved, i.e. on SpiffWorkflow's whole, unpruned tree.
"""

from __future__ import annotations

import math
import uuid
from pathlib import Path
from typing import Any

import pytest

from engine.domain.model import DumpedState
from engine.runtime.facade import CaseRuntime
from engine.runtime.serializer import HISTORY_ROW_VISITS, HISTORY_SCOPE
from engine.runtime.specs import ParsedProcess, bundle_from_files, parse_bundle, read_procedure_dir
from tests.engine.conformance.models import Model, model, process, script
from tests.engine.conformance.runner import Step
from tests.engine.conformance.runner import _step as play_step

BENCH = Path(__file__).resolve().parents[2] / "bench" / "procedures"


def _tree_bytes(dumped: DumpedState) -> int:
    """Bytes of the workflow state proper (header and task rows, history rows aside)."""
    rows = [body for scope, body in dumped.tasks.values() if scope != HISTORY_SCOPE]
    return len(dumped.header) + sum(len(body) for body in rows)


def _history_rows(dumped: DumpedState) -> int:
    return sum(1 for scope, _body in dumped.tasks.values() if scope == HISTORY_SCOPE)


def _loop(parsed: ParsedProcess, passes: int, *, saved: bool) -> tuple[CaseRuntime, list[int]]:
    runtime = CaseRuntime.start(parsed, {"n": 0, "limite": passes})
    sizes = []
    for value in range(passes):
        if saved:
            dumped = runtime.dump()
            sizes.append(_tree_bytes(dumped))
            runtime = CaseRuntime.restore_dumped(parsed, dumped)
        (task,) = runtime.ready_tasks()
        runtime.complete_task(task.id, {"valeur": value})
    return runtime, sizes


def test_a_400_pass_loop_saved_at_every_step_ends_as_the_unpruned_one() -> None:
    parsed = parse_bundle(read_procedure_dir(BENCH / "boucle"))
    pruned, sizes = _loop(parsed, 400, saved=True)
    whole, _ = _loop(parsed, 400, saved=False)
    assert pruned.completed and whole.completed
    assert pruned.data == whole.data and pruned.data["n"] == 400
    assert pruned.completed_nodes() == whole.completed_nodes()
    assert (
        len(pruned.completed_nodes()) == 2 + 3 * 400
    )  # start, 400 x (etape, compter, encore), end
    # The stored state does not grow with the passes (a few bytes for the counter's digits)...
    assert max(sizes) - sizes[10] < 64, sizes[10::50]
    assert len(whole._workflow.tasks) > 1_200 and len(pruned._workflow.tasks) < 12
    # ...and the history of the dropped tasks is stored in rows of a fixed size.
    final = pruned.dump()
    assert _history_rows(final) == math.ceil(len(pruned.completed_nodes()) / HISTORY_ROW_VISITS)


def test_a_restored_pruned_case_still_knows_its_completed_tasks() -> None:
    parsed = parse_bundle(read_procedure_dir(BENCH / "boucle"))
    runtime = CaseRuntime.start(parsed, {"n": 0, "limite": 10})
    done = []
    for value in range(5):
        runtime = CaseRuntime.restore_dumped(parsed, runtime.dump())
        (task,) = runtime.ready_tasks()
        done.append(task.id)
        runtime.complete_task(task.id, {"valeur": value})
    runtime = CaseRuntime.restore_dumped(parsed, runtime.dump())
    assert all(runtime._task(task_id) is None for task_id in done[:-1])  # pruned...
    assert all(runtime.knows_task(task_id) for task_id in done)  # ...but known
    assert not runtime.knows_task(uuid.uuid4())
    assert runtime.dump() == CaseRuntime.restore_dumped(parsed, runtime.dump()).dump()


@pytest.mark.parametrize("procedure", ["collecte_sequentielle", "collecte_parallele"])
def test_a_multi_instance_of_120_items_ends_as_the_unpruned_one(procedure: str) -> None:
    parsed = parse_bundle(read_procedure_dir(BENCH / procedure))
    items = [{"numero": i} for i in range(120)]

    def run(saved: bool) -> tuple[CaseRuntime, list[int]]:
        runtime = CaseRuntime.start(parsed, {"elements": items})
        live = []
        for value in range(len(items)):
            if saved:
                runtime = CaseRuntime.restore_dumped(parsed, runtime.dump())
            live.append(len(runtime._workflow.tasks))
            ready = runtime.ready_tasks()
            runtime.complete_task(ready[value % len(ready)].id, {"valeur": value})
        return runtime, live

    pruned, live = run(saved=True)
    whole, _ = run(saved=False)
    assert pruned.completed and pruned.data == whole.data
    assert len(pruned.data["avis_recus"]) == len(items)
    assert pruned.completed_nodes() == whole.completed_nodes()
    # Finished instances leave the tree: it holds the instances still to do, and a few tasks.
    assert all(count <= len(items) - done + 10 for done, count in enumerate(live)), live


def _play(source: Model, start: dict[str, Any], steps: list[Step], *, saved: bool) -> CaseRuntime:
    parsed = parse_bundle(bundle_from_files(source.files))
    runtime = CaseRuntime.start(parsed, dict(start))
    for step in steps:
        if saved:
            runtime = CaseRuntime.restore_dumped(parsed, runtime.dump())
        play_step(runtime, step)
    return runtime


# Each pass: a parallel split into two user tasks and their join, then a user task with an
# interrupting timer on its boundary (a reminder), counted, and back to the split.
PASSES = model(
    '<startEvent id="s"/><parallelGateway id="g"/><userTask id="a"/><userTask id="b"/>'
    '<parallelGateway id="j"/><userTask id="u"/>'
    '<boundaryEvent id="delai" attachedToRef="u"><timerEventDefinition><timeDuration>"P1D"'
    "</timeDuration></timerEventDefinition></boundaryEvent>"
    + script("relancer", "relances = relances + 1")
    + script("compter", "n = n + 1")
    + '<exclusiveGateway id="encore" default="f_encore_e"/><endEvent id="e"/>',
    "s>g",
    "g>a",
    "g>b",
    "a>j",
    "b>j",
    "j>u",
    "delai>relancer",
    "relancer>compter",
    "u>compter",
    "compter>encore",
    "encore>g ? n < limite",
    "encore>e",
)


def _pass(index: int) -> list[Step]:
    steps: list[Step] = [("complete", "a", {f"a{index}": index}), ("complete", "b", {"b": index})]
    if index % 3 == 1:
        return [*steps, ("timer", "delai")]
    return [*steps, ("complete", "u", {"u": index})]


def test_parallel_branches_and_a_boundary_timer_in_a_loop_end_as_unpruned() -> None:
    start = {"n": 0, "limite": 12, "relances": 0}
    steps = [step for index in range(12) for step in _pass(index)]
    pruned = _play(PASSES, start, steps, saved=True)
    whole = _play(PASSES, start, steps, saved=False)
    assert pruned.completed and whole.completed
    assert pruned.data == whole.data
    assert pruned.data["n"] == 12 and pruned.data["relances"] == 4
    assert pruned.completed_nodes() == whole.completed_nodes()
    assert len(pruned._workflow.tasks) < 12 < len(whole._workflow.tasks)


def test_a_parallel_join_in_a_later_pass_waits_for_both_of_its_branches() -> None:
    """Pass 1 joins a then b; pass 2 brings b first: the join must wait for a again (stock
    SpiffWorkflow counted pass 1's branch a, which only pruning forgets)."""
    steps: list[Step] = [
        ("complete", "a", {}),
        ("complete", "b", {}),
        ("complete", "u", {}),
        ("complete", "b", {}),
    ]
    runtime = _play(PASSES, {"n": 0, "limite": 5, "relances": 0}, steps, saved=True)
    assert sorted(t.name for t in runtime.ready_tasks()) == ["a"]
    play_step(runtime, ("complete", "a", {}))
    assert [t.name for t in runtime.ready_tasks()] == ["u"]


INCLUSIVE_LOOP = model(
    '<startEvent id="s"/><userTask id="u"/><inclusiveGateway id="g" default="f_g_z"/>'
    + script("x", "nx = nx + 1")
    + script("y", "ny = ny + 1")
    + script("z", "nz = nz + 1")
    + '<inclusiveGateway id="j"/>'
    + script("compter", "n = n + 1")
    + '<exclusiveGateway id="encore" default="f_encore_e"/><endEvent id="e"/>',
    "s>u",
    "u>g",
    "g>x ? n % 2 == 0",
    "g>y ? n % 3 == 0",
    "g>z",
    "x>j",
    "y>j",
    "z>j",
    "j>compter",
    "compter>encore",
    "encore>u ? n < limite",
    "encore>e",
)


def test_an_inclusive_join_in_a_loop_ends_as_unpruned() -> None:
    steps: list[Step] = [("complete", "u", {}) for _ in range(7)]
    start = {"n": 0, "limite": 7, "nx": 0, "ny": 0, "nz": 0}
    pruned = _play(INCLUSIVE_LOOP, start, steps, saved=True)
    whole = _play(INCLUSIVE_LOOP, start, steps, saved=False)
    assert pruned.completed and pruned.data["n"] == 7
    # The branches of a pass run in one engine step; SpiffWorkflow's join merges their data
    # (the last branch merged wins a name both hold): the same with and without pruning.
    assert pruned.data == whole.data
    # Each pass joins once. Unpruned, the join of the 7th pass (two branches) also fired for
    # its first branch, seeing an earlier pass's join as arrived, then dropped that
    # duplicate's successors: an extra `j` in its history, nothing else.
    assert pruned.completed_nodes().count("j") == 7
    assert pruned.completed_nodes().count("compter") == 7
    assert [n for n in whole.completed_nodes() if n != "j"] == [
        n for n in pruned.completed_nodes() if n != "j"
    ]


def test_a_loop_through_a_parallel_gateway_runs_past_pass_139() -> None:
    """Unpruned, SpiffWorkflow's recursive ancestor walk (the parallel gateway's join check)
    raised RecursionError at pass 139 of this model (a tree ~1,000 tasks deep)."""
    steps = [("complete", name, {}) for _ in range(200) for name in ("a", "b", "u")]
    runtime = _play(PASSES, {"n": 0, "limite": 200, "relances": 0}, steps, saved=True)
    assert runtime.completed and runtime.data["n"] == 200


def _drawn(runtime: CaseRuntime) -> list[tuple[Any, ...]]:
    """The trail without task ids (two runs of the same steps make different ids)."""
    return [(v.node, v.state, v.name, v.event, v.bookkeeping, v.within) for v in runtime.trail()]


def test_the_drawn_path_of_a_pruned_case_is_the_unpruned_one() -> None:
    """The diagram's trail lists the pruned passes too (from the history rows), in order."""
    steps = [step for index in range(6) for step in _pass(index)]
    start = {"n": 0, "limite": 6, "relances": 0}
    pruned = _play(PASSES, start, steps, saved=True)
    whole = _play(PASSES, start, steps, saved=False)
    assert _drawn(pruned) == _drawn(whole)
    assert len(pruned.trail()) > 6 * 5
    assert len({v.task_id for v in pruned.trail()}) == len(pruned.trail())


def test_a_pruned_call_activity_leaves_its_steps_in_the_drawn_path() -> None:
    called = model(
        '<startEvent id="s"/><callActivity id="appel" calledElement="sous"/>'
        '<userTask id="apres"/><endEvent id="e"/>',
        "s>appel",
        "appel>apres",
        "apres>e",
        extra=process(
            "sous",
            '<startEvent id="ss"/><userTask id="dedans"/><endEvent id="se"/>',
            "ss>dedans",
            "dedans>se",
        ),
    )
    steps: list[Step] = [("complete", "dedans", {"x": 1}), ("complete", "apres", {"y": 2})]
    pruned = _play(called, {}, steps, saved=True)
    pruned = CaseRuntime.restore_dumped(pruned.parsed, pruned.dump())
    whole = _play(called, {}, steps, saved=False)
    assert not pruned._workflow.subprocesses and whole._workflow.subprocesses  # pruned...
    assert _drawn(pruned) == _drawn(whole)  # ...and still drawn
    assert any(v.node == "dedans" and v.within == "appel" for v in pruned.trail())
