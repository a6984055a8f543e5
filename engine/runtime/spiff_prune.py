"""Dropping the finished past of a case's SpiffWorkflow task tree, so long cases stay cheap.

SpiffWorkflow never forgets a task: every pass through a loop adds new tasks below the old
ones, and every load, step and save walks the whole tree (a 400-pass loop keeps ~1,200 tasks,
and a step there cost ~30x a step at pass 10). Most of that tree no longer takes part in what
the case does next. `prune` removes it, after a step and before the case is saved, and keeps:

- the root (the `Start` task: triggered event subprocesses are added below it);
- every unfinished task (READY, WAITING, STARTED, FUTURE, predicted) and every task in ERROR,
  with its parent (joins read their inputs' parent state, a task inherits its parent's data,
  `fail_service` looks for its error boundary event among its parent's children);
- the nodes where paths to unfinished tasks fork (a parallel split, a boundary event split)
  and everything that hangs off a kept node and leads to no unfinished task (the other,
  finished branches of a split: a parallel join counts the branches that already arrived);
- the split task of a structured join that is still to run (a boundary event join looks its
  split up among its ancestors), and the workflow's `last_task` (the case data);
- for a parallel or inclusive join still to run, the join tasks of the same element already
  finished in the same pass (those that arrived first), with their parents, and its nearest
  ancestor of each of its input elements (a parallel gateway entered from the start and from
  a loop finds the start among the ancestors of its later passes);
- of a loop or multi-instance task, its unfinished instances and the last one merged (the
  completion condition reads it); the finished ones were merged into its data already.

Every other task goes. Its children move up to their nearest kept ancestor, so ancestry among
kept tasks, the order of children and each task's data are unchanged; a dropped call activity
takes its subprocess with it. The completed flow nodes dropped are returned (time, task id,
BPMN id): the serializer keeps them as the case's history, so `completed_nodes` and "this task
was done already" still answer for them.

What changes: a join element inside a loop no longer sees the join tasks of earlier passes.
Stock SpiffWorkflow counts them (a parallel join in a later pass could fire before its
branches arrived when they came in another order; an inclusive join fired once more for its
first branch), and merges their old data before the current pass's (a name deleted since
could come back); it also walks ancestors recursively (a boundary event or parallel join
~1,000 tasks deep raised RecursionError). All of these only happened in long cases.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.util.task import TaskState

Visit = tuple[float, str, str, str | None, str | None]
"""A completed flow node dropped from the tree: (last state change, task id hex, BPMN id,
the main process's element it ran under and its own process's name; both None for a task of
the main process)."""

_LIVE = TaskState.NOT_FINISHED_MASK | TaskState.ERROR
_KEEP, _SPLICE, _WHOLE, _DROP = range(4)


def prune(workflow: Any) -> list[Visit]:
    """Drop the finished tasks of `workflow` (and its subprocesses) that no longer matter."""
    dropped: list[Visit] = []
    _prune_tree(workflow, workflow, dropped)
    for subprocess in list(workflow.subprocesses.values()):
        if workflow.subprocesses.get(subprocess.parent_task_id) is subprocess:
            _prune_tree(subprocess, workflow, dropped)
    return dropped


def _ancestors(task: Any) -> Iterator[Any]:
    """The task's ancestors, nearest first (SpiffWorkflow's own walks are recursive)."""
    tasks = task.workflow.tasks
    current = tasks.get(task._parent)
    while current is not None:
        yield current
        current = tasks.get(current._parent)


def _subtree(task: Any) -> Iterator[Any]:
    tasks = task.workflow.tasks
    pending = [task]
    while pending:
        current = pending.pop()
        yield current
        pending.extend(tasks[c] for c in current._children if c in tasks)


def _find_ancestor(task: Any, spec_name: str) -> Any | None:
    return next((a for a in _ancestors(task) if a.task_spec.name == spec_name), None)


def _join_anchors(join: Any, tasks: dict[UUID, Any]) -> Iterator[Any]:
    """Finished tasks of the same join element in the join's pass (not an ancestor of it,
    below its nearest ancestor of the same element when there is one)."""
    spec = join.task_spec
    others = [
        t
        for t in tasks.values()
        if t.task_spec is spec and t is not join and t._state & TaskState.FINISHED_MASK
    ]
    if not others:
        return
    lineage = {a.id for a in _ancestors(join)}
    previous = next((a for a in _ancestors(join) if a.task_spec is spec), None)
    scope = {t.id for t in _subtree(previous)} if previous is not None else None
    for other in others:
        if other.id not in lineage and (scope is None or other.id in scope):
            yield other


def _input_ancestors(join: Any) -> list[Any]:
    """For each input of a join element, the join's nearest ancestor of that element: a
    parallel join looks its inputs up among the ancestors of its future passes (a gateway
    entered from the start and from a loop counts the start as arrived)."""
    inputs = set(join.task_spec.inputs)
    found = []
    for ancestor in _ancestors(join):
        if ancestor.task_spec in inputs:
            inputs.discard(ancestor.task_spec)
            found.append(ancestor)
            if not inputs:
                break
    return found


def _needed(workflow: Any) -> tuple[set[UUID], set[UUID]]:
    """Tasks that must stay, and every task on a path from the root to one of them."""
    tasks: dict[UUID, Any] = workflow.tasks
    live = [t for t in tasks.values() if t._state & _LIVE]
    keep: set[UUID] = {workflow.task_tree.id}
    pinned: list[Any] = []
    for task in live:
        keep.add(task.id)
        parent = tasks.get(task._parent)
        if parent is not None:
            pinned.append(parent)
        split = getattr(task.task_spec, "split_task", None)
        if isinstance(split, str):
            found = _find_ancestor(task, split)
            if found is not None:
                pinned.append(found)
        if isinstance(task.task_spec, UnstructuredJoin):
            for anchor in _join_anchors(task, tasks):
                pinned.append(anchor)
                if anchor._parent in tasks:
                    pinned.append(tasks[anchor._parent])
            pinned.extend(_input_ancestors(task))
    last = workflow.last_task
    if last is not None and tasks.get(last.id) is last:
        pinned.append(last)
    keep.update(t.id for t in pinned)
    # The skeleton: every task on a path from the root to a kept task; a node reached through
    # two of its children is a fork and stays.
    reached_via: dict[UUID, set[UUID]] = {}
    for task in [*live, *pinned]:
        child = task
        for ancestor in _ancestors(task):
            seen = ancestor.id in reached_via
            reached_via.setdefault(ancestor.id, set()).add(child.id)
            if seen:
                break
            child = ancestor
    keep.update(node for node, via in reached_via.items() if len(via) > 1)
    skeleton = keep | reached_via.keys()
    return keep, skeleton


def _stale_instance(parent: Any, child: Any) -> bool:
    """A finished instance of a loop or multi-instance task, other than the last merged."""
    spec = parent.task_spec
    if not isinstance(spec, LoopTask) or child.task_spec.name != spec.task_spec:
        return False
    if not child._state & TaskState.FINISHED_MASK:
        return False
    merged = parent.internal_data.get("merged") or []
    return not merged or str(child.id) != merged[-1]


def _prune_tree(workflow: Any, top: Any, dropped: list[Visit]) -> None:
    tasks: dict[UUID, Any] = workflow.tasks
    keep, skeleton = _needed(workflow)
    within = _container(workflow, top)
    root = workflow.task_tree
    new_children: dict[UUID, list[UUID]] = {root.id: []}
    new_parent: dict[UUID, UUID] = {}
    removed: list[Any] = []
    # Depth first, children in order: (task, mode, nearest kept ancestor).
    pending: list[tuple[Any, int, Any]] = [(root, _KEEP, None)]
    while pending:
        task, mode, anchor = pending.pop()
        if mode == _DROP:
            removed.extend(_subtree(task))
            continue
        if mode in (_KEEP, _WHOLE) and anchor is not None:
            new_children[anchor.id].append(task.id)
            new_parent[task.id] = anchor.id
        if mode == _WHOLE:
            continue
        if mode == _SPLICE:
            removed.append(task)
        else:
            new_children.setdefault(task.id, [])
        below = task if mode == _KEEP else anchor
        for child_id in reversed(task._children):
            child = tasks.get(child_id)
            if child is None:
                continue
            if child_id in skeleton:
                child_mode = _KEEP if child_id in keep else _SPLICE
            elif mode == _KEEP and not _stale_instance(task, child):
                child_mode = _WHOLE
            else:
                child_mode = _DROP
            pending.append((child, child_mode, below))
    if not removed:
        return
    for task_id, children in new_children.items():
        tasks[task_id]._children = children
    for task_id, parent_id in new_parent.items():
        tasks[task_id]._parent = parent_id
    for task in removed:
        _record(task, within, dropped)
        if task.id in top.subprocesses:  # before the task goes: SpiffWorkflow looks it up
            for inner in top.delete_subprocess(task):
                _record(inner, within or task.task_spec.bpmn_id, dropped)
    for task in removed:
        del tasks[task.id]


def _container(workflow: Any, top: Any) -> str | None:
    """The BPMN id of the main process's element a subprocess runs under (None for the top)."""
    current = workflow
    for _ in range(50):  # nesting depth bound
        if current is top:
            return None
        parent_id = current.parent_task_id
        parent = top.tasks.get(parent_id) or next(
            (sp.tasks[parent_id] for sp in top.subprocesses.values() if parent_id in sp.tasks),
            None,
        )
        if parent is None:
            return None
        if parent.workflow is top:
            return str(parent.task_spec.bpmn_id) if parent.task_spec.bpmn_id else None
        current = parent.workflow
    return None


def _record(task: Any, within: str | None, dropped: list[Visit]) -> None:
    bpmn_id = getattr(task.task_spec, "bpmn_id", None)
    if task._state == TaskState.COMPLETED and bpmn_id:
        process = None if within is None else str(task.workflow.spec.name)
        dropped.append((task.last_state_change, task.id.hex, bpmn_id, within, process))
