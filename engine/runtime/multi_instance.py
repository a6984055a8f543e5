"""Parallel multi-instance user tasks whose completion condition sees every answer so far, and
loop and multi-instance tasks wired to their instances when parsed.

SpiffWorkflow evaluates a completion condition on the data of the instance that just finished,
a copy taken when all instances were created: it cannot count the answers of the others
("2 of 3 have signed"). Ours evaluates it on the multi-instance task's own data, where the
output collection holds every finished instance's item, falling back to the last instance's
data for names only it has.

A loop or multi-instance task learns that one of its instances finished through the instance
spec's `completed_event`, which SpiffWorkflow connects when the task creates an instance (or when
it deserializes a spec; ours are parsed from the BPMN). A case restored inside such a task by a
process that had not yet created an instance of that definition itself (a worker or web process
started after the case entered it, e.g. after an upgrade or a restart) finished the instance and
then waited forever: the deliberation's visa circuit stopped after the last visa. Every parsed
definition is therefore wired once, when parsed (`wire_loop_instances`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.spiff.parser.task_spec import UserTaskParser
from SpiffWorkflow.spiff.specs.defaults import ParallelMultiInstanceTask


class CountingParallelMultiInstanceTask(ParallelMultiInstanceTask):  # type: ignore[misc]
    """Completion condition over the collected outputs (e.g. `len(avis) >= requis`)."""

    def check_completion_condition(self, my_task: Any) -> Any:
        merged = my_task.internal_data.get("merged", [])
        if not merged or self.condition is None:
            return None
        last = next(c for c in my_task.children if str(c.id) == merged[-1])
        engine = my_task.workflow.script_engine
        return engine.evaluate(my_task, self.condition, external_context=dict(last.data))


class CountingUserTaskParser(UserTaskParser):  # type: ignore[misc]
    PARALLEL_MI_CLASS: ClassVar[Any] = CountingParallelMultiInstanceTask


def wire_loop_instances(spec: Any) -> None:
    """Connect each loop or multi-instance task of `spec` to its instances' completion."""
    for task_spec in list(spec.task_specs.values()):
        if isinstance(task_spec, LoopTask):
            child = spec.task_specs[task_spec.task_spec]
            if not child.completed_event.is_connected(task_spec.merge_child):
                child.completed_event.connect(task_spec.merge_child)
