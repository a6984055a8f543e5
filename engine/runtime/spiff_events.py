"""Event sub-processes (and message-started pools) wired at parse time, and interrupting ones
that interrupt: two gaps of SpiffWorkflow 3.2 for definitions shared between cases.

- SpiffWorkflow's `BpmnStartTask.trigger_wf`, the first time a signal or message starts an
  event sub-process, connects that sub-process to the process spec's start and end. The engine
  parses a definition once and shares its spec between every case (`specs.parsed_from_files`),
  so that first trigger changed every later case: the start task now listed the sub-process
  among its outputs, every new case created it from the start, and it kept the case from ever
  completing. `wire_triggered_subprocesses` gives each such sub-process its input (the start
  task) and output (the end join) once, when the definition is parsed, without making it an
  output of the start task: `trigger_wf` then finds it connected and changes nothing.
- SpiffWorkflow does not read `isInterrupting`: every event sub-process ran beside the main
  flow. An event sub-process whose start event is interrupting (the BPMN default) now cancels
  the other unfinished tasks of its process when it starts, and leads to the end join itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from SpiffWorkflow.bpmn.specs.control import BpmnStartTask
from SpiffWorkflow.util.task import TaskState

__all__ = ["interrupting_event_subprocesses", "wire_triggered_subprocesses"]

_INTERRUPTING = "dematflow_interrupting"


def wire_triggered_subprocesses(spec: Any, interrupting: Mapping[str, bool]) -> None:
    """Connect the event sub-processes a process starts on an event, as `trigger_wf` would, and
    mark the interrupting ones (`interrupting`: event sub-process id → whether it interrupts)."""
    start = spec.start
    for name in getattr(start, "trigger_specs", ()):
        task_spec = spec.task_specs.get(name)
        if task_spec is None:
            continue
        setattr(task_spec, _INTERRUPTING, interrupting.get(task_spec.bpmn_id, False))
        if start in task_spec.inputs:
            continue
        task_spec._inputs.append(start.name)
        if spec.end not in task_spec.outputs:
            task_spec.connect(spec.end)


def interrupting_event_subprocesses(roots: list[Any]) -> dict[str, bool]:
    """Event sub-process id → whether one of its start events interrupts (the BPMN default)."""
    found: dict[str, bool] = {}
    for root in roots:
        for node in root.xpath("//*[local-name()='subProcess'][@triggeredByEvent='true']"):
            starts = node.xpath("./*[local-name()='startEvent']")
            found[str(node.get("id"))] = any(
                start.get("isInterrupting", "true") != "false" for start in starts
            )
    return found


_trigger_wf = BpmnStartTask.trigger_wf


def _trigger_and_interrupt(self: Any, my_task: Any, spec_name: str) -> Any:
    child_id = _trigger_wf(self, my_task, spec_name)
    if getattr(self._wf_spec.task_specs.get(spec_name), _INTERRUPTING, False):
        ends = {self._wf_spec.end.name, "End"}
        for task in my_task.workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK):
            if task.workflow is not my_task.workflow or task.parent is None:
                continue  # the triggered sub-process runs in a workflow of its own
            if task.id == child_id or task.task_spec.name in ends:
                continue
            if not task.has_state(TaskState.FINISHED_MASK):
                task.cancel()
        # the main flow's end join went with it: the sub-process now leads to the end itself
        child = my_task.workflow.get_task_from_id(child_id)
        child._sync_children(child.task_spec.outputs, TaskState.FUTURE)
        for end in child.children:
            end._sync_children(end.task_spec.outputs, TaskState.FUTURE)
    return child_id


BpmnStartTask.trigger_wf = _trigger_and_interrupt
