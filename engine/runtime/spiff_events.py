"""Event sub-processes (and message-started pools) wired at parse time, not at their first start.

SpiffWorkflow's `BpmnStartTask.trigger_wf`, the first time a signal or message starts an event
sub-process, connects that sub-process to the process spec's start and end. The engine parses a
definition once and shares its spec between every case (`specs.parsed_from_files`), so that
first trigger changed every later case of the procedure: the start task now listed the
sub-process among its outputs, every new case created it from the start, and it kept the case
from ever completing. `wire_triggered_subprocesses` gives each such sub-process its input (the
start task) and output (the end join) once, when the definition is parsed, without making it an
output of the start task: `trigger_wf` then finds it connected and changes nothing.
"""

from __future__ import annotations

from typing import Any

__all__ = ["wire_triggered_subprocesses"]


def wire_triggered_subprocesses(spec: Any) -> None:
    """Connect the event sub-processes a process starts on an event, as `trigger_wf` would."""
    start = spec.start
    for name in getattr(start, "trigger_specs", ()):
        task_spec = spec.task_specs.get(name)
        if task_spec is None or start in task_spec.inputs:
            continue
        task_spec._inputs.append(start.name)
        if spec.end not in task_spec.outputs:
            task_spec.connect(spec.end)
