"""Parallel multi-instance user tasks whose completion condition sees every answer so far.

SpiffWorkflow evaluates a completion condition on the data of the instance that just finished,
a copy taken when all instances were created: it cannot count the answers of the others
("2 of 3 have signed"). Ours evaluates it on the multi-instance task's own data, where the
output collection holds every finished instance's item, falling back to the last instance's
data for names only it has.
"""

from __future__ import annotations

from typing import Any, ClassVar

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
