"""A service task that never runs its operation in-process: it records a call and waits.

SpiffWorkflow's own `call_service` path is not used (its error path is broken, and work must
not run inside a web request). Our task evaluates its parameters, stores them in the task's
internal data and returns None, which leaves the task STARTED until the worker completes it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.serializer.task_spec import (
    ServiceTaskConverter,
    SpiffMultiInstanceConverter,
)
from SpiffWorkflow.spiff.specs.defaults import ServiceTask, UserTask

from engine.runtime.multi_instance import CountingParallelMultiInstanceTask, CountingUserTaskParser

PARAMS_KEY = "dematflow_operation_params"


class AsyncServiceTask(ServiceTask):  # type: ignore[misc]
    """Service task whose operation is run later by a worker job."""

    def _execute(self, task: Any) -> bool | None:
        params = {name: value["value"] for name, value in self.evaluate_params(task).items()}
        task._set_internal_data(**{PARAMS_KEY: params})
        return None


class AsyncServiceTaskParser(ServiceTaskParser):  # type: ignore[misc]
    pass


class DematflowBpmnParser(SpiffBpmnParser):  # type: ignore[misc]
    OVERRIDE_PARSER_CLASSES: ClassVar[dict[str, Any]] = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (AsyncServiceTaskParser, AsyncServiceTask),
        full_tag("userTask"): (CountingUserTaskParser, UserTask),
    }


SERIALIZER_CONFIG = dict(SPIFF_CONFIG)
SERIALIZER_CONFIG.pop(ServiceTask)
SERIALIZER_CONFIG[AsyncServiceTask] = ServiceTaskConverter
SERIALIZER_CONFIG[CountingParallelMultiInstanceTask] = SpiffMultiInstanceConverter
