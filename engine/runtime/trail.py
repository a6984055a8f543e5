"""The path a case took through its model: each flow node done or active, in order.

Read from SpiffWorkflow's task tree (the only place that knows which gateways, scripts and
automatic events ran); what people and jobs did is told by the journal, matched by task id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions import (
    MessageEventDefinition,
    SignalEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.util.task import TaskState

__all__ = ["NodeVisit", "node_visits"]

VisitState = Literal["done", "ready", "running", "waiting"]


@dataclass(frozen=True)
class NodeVisit:
    """One pass of a case through one BPMN flow node."""

    node: str
    """The BPMN id of the element (as in the diagram)."""
    task_id: UUID
    state: VisitState
    """`done`; `ready` (a person's turn); `running` (a job at work); `waiting` (an event)."""
    name: str
    """The element's name in the model ("" when it has none)."""
    event: tuple[str, str] | None = None
    """("timer" | "message" | "signal", name) for an element that catches such an event."""
    bookkeeping: bool = False
    """A gateway, a script or a loop's own task: the engine's work, not a step to list."""
    within: str | None = None
    """For a step inside a called or embedded process: the BPMN id of the top-level element
    (call activity, sub-process) it runs under; None for a step of the main process."""


def _event(spec: Any) -> tuple[str, str] | None:
    definition = getattr(spec, "event_definition", None)
    if isinstance(definition, TimerEventDefinition):
        return ("timer", spec.bpmn_name or spec.bpmn_id or "")
    if isinstance(definition, MessageEventDefinition):
        return ("message", str(definition.name))
    if isinstance(definition, SignalEventDefinition):
        return ("signal", str(definition.name))
    return None


def _bookkeeping(spec: TaskSpec) -> bool:
    if isinstance(spec, ScriptTask | LoopTask):
        return True
    return type(spec).__name__.endswith("Gateway")


def _state(task: Any) -> VisitState | None:
    if task.state == TaskState.COMPLETED:
        return "done"
    if task.state == TaskState.READY:
        return "ready" if task.task_spec.manual else "running"
    if task.state == TaskState.STARTED:
        return "running"
    if task.state == TaskState.WAITING:
        return "waiting"
    return None


def _task(workflow: Any, task_id: UUID) -> Any:
    try:
        return workflow.get_task_from_id(task_id)
    except TaskNotFoundException:
        return None


def _containers(workflow: Any) -> dict[UUID, str]:
    """Sub-workflow (by its parent task id) -> the top-level element it runs under."""
    top: dict[UUID, str] = {}
    for key, sub in workflow.subprocesses.items():
        parent_id = sub.parent_task_id
        for _ in range(50):  # nesting depth bound: walk up to the main workflow
            parent = _task(workflow, parent_id)
            if parent is None or parent.workflow is workflow:
                break
            parent_id = parent.workflow.parent_task_id
        parent = _task(workflow, parent_id)
        if parent is not None and parent.task_spec.bpmn_id:
            top[key] = parent.task_spec.bpmn_id
    return top


def node_visits(workflow: Any) -> list[NodeVisit]:
    """Every visit of a flow node, the done ones in completion order, then the active ones."""
    containers = _containers(workflow)
    subs = workflow.subprocesses.items()
    workflows = [(workflow, None), *((sub, containers.get(key)) for key, sub in subs)]
    found: list[tuple[float, NodeVisit]] = []
    for each, within in workflows:
        for task in each.tasks.values():
            spec = task.task_spec
            state = _state(task)
            if not spec.bpmn_id or state is None:
                continue
            name = spec.bpmn_name or ""
            visit = NodeVisit(
                spec.bpmn_id, task.id, state, name, _event(spec), _bookkeeping(spec), within
            )
            found.append((task.last_state_change, visit))
    done = sorted((item for item in found if item[1].state == "done"), key=lambda i: i[0])
    active = sorted((item for item in found if item[1].state != "done"), key=lambda i: i[0])
    return [visit for _, visit in (*done, *active)]
