"""SpiffWorkflow's script engine wired to our evaluator: no Python eval/exec of model content.

Every path by which SpiffWorkflow runs model text goes through `PythonScriptEngine.evaluate` /
`execute` or straight to `engine.environment.evaluate` (gateway conditions, timer, message,
multi-instance and DMN expressions, script tasks, pre/post scripts, service parameters). Both
land in `SafeEnvironment`, which hands the text to `engine.runtime.evaluator`. As a safety net,
a workflow created without an engine (a forgotten re-attachment after deserialization) gets
this one too instead of SpiffWorkflow's eval-based default.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from SpiffWorkflow.bpmn import workflow as spiff_workflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.runtime.clock import utcnow
from engine.runtime.evaluator import (
    DEFAULT_LIMITS,
    EvaluationError,
    LimitExceeded,
    Limits,
    check_expression,
    evaluate,
    execute,
)
from engine.runtime.evaluator_check import parse_python

__all__ = ["MAX_TIMER_MONTHS", "SafeEnvironment", "SafeScriptEngine", "make_script_engine"]

MAX_TIMER_MONTHS = 1200
"""Longest timer duration in months (100 years): SpiffWorkflow loops once per month of it."""

Clock = Callable[[], datetime]


class SafeEnvironment(BasePythonScriptEngineEnvironment):  # type: ignore[misc]
    """Runs expressions and scripts against task data with the restricted evaluator."""

    def __init__(self, *, limits: Limits = DEFAULT_LIMITS, clock: Clock = utcnow) -> None:
        super().__init__({})
        self.limits = limits
        self.clock = clock

    def evaluate(
        self,
        expression: str,
        context: dict[str, Any],
        external_context: dict[str, Any] | None = None,
    ) -> Any:
        fallback = (external_context,) if external_context else ()
        return evaluate(
            expression, context, fallback=fallback, limits=self.limits, clock=self.clock
        )

    def execute(
        self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None
    ) -> bool:
        fallback = (external_context,) if external_context else ()
        assigned = execute(script, context, fallback=fallback, limits=self.limits, clock=self.clock)
        for name in sorted(assigned):
            _check_storable(name, context[name])
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> Any:
        raise EvaluationError("service tasks are run by the engine's worker, not in scripts")


class SafeScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """PythonScriptEngine whose every entry point uses `SafeEnvironment` and clear errors."""

    environment: SafeEnvironment

    def __init__(self, environment: SafeEnvironment | None = None) -> None:
        super().__init__(environment=environment or SafeEnvironment())

    def validate(self, expression: str) -> None:
        """SyntaxError for unparsable text (DMN relies on it), then our whitelist check."""
        parse_python(expression)
        check_expression(expression, limits=self.environment.limits)

    def evaluate(
        self, task: Any, expression: str, external_context: dict[str, Any] | None = None
    ) -> Any:
        try:
            value = self.environment.evaluate(expression, task.data, external_context)
            return _timer_value(task, expression, value)
        except SpiffWorkflowException as exc:
            exc.add_note(f"Error evaluating expression '{expression}'")
            raise
        except EvaluationError as exc:
            raise WorkflowTaskException(
                f"Error evaluating expression '{expression}': {exc.detail}",
                task=task,
                exception=exc,
            ) from exc

    def execute(
        self, task: Any, script: str, external_context: dict[str, Any] | None = None
    ) -> bool:
        try:
            return self.environment.execute(script, task.data, external_context or {})
        except EvaluationError as exc:
            line = exc.line or 0
            lines = script.splitlines()
            error_line = lines[line - 1] if 0 < line <= len(lines) else ""
            raise WorkflowTaskException(
                f"Error in script (line {line}): {exc.detail}",
                task=task,
                exception=exc,
                line_number=line,
                error_line=error_line,
            ) from exc

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        raise WorkflowTaskException(
            "service tasks must use the engine's asynchronous service task, not call_service",
            task=task,
        )


def _check_storable(name: str, value: Any) -> None:
    """Task data is saved as JSON: refuse values the case serializer cannot write back."""
    pending = [value]
    while pending:
        item = pending.pop()
        if type(item) is date or type(item) is Decimal:
            hint = ".isoformat()" if type(item) is date else "str() or float()"
            raise EvaluationError(
                f"{name!r} holds a {type(item).__name__}, which task data cannot store; use {hint}"
            )
        if type(item) is dict:
            pending.extend(item.values())
        elif type(item) in (list, tuple, set):
            pending.extend(item)


def make_script_engine(
    *, limits: Limits = DEFAULT_LIMITS, clock: Clock = utcnow
) -> SafeScriptEngine:
    """The script engine to attach to every workflow, new or deserialized."""
    return SafeScriptEngine(SafeEnvironment(limits=limits, clock=clock))


def _timer_value(task: Any, expression: str, value: Any) -> Any:
    """Timer expressions may give dates and durations; SpiffWorkflow wants bounded ISO text."""
    definition = getattr(task.task_spec, "event_definition", None)
    if not isinstance(definition, TimerEventDefinition) or definition.expression != expression:
        return value
    if type(value) in (datetime, date):
        value = value.isoformat()
    elif type(value) is timedelta:
        value = _iso_duration(value)
    if not isinstance(value, str):
        raise EvaluationError(f"a timer expression must give text, not {type(value).__name__}")
    for part in value.upper().split("/"):
        if part.startswith("P"):
            _check_duration(part)
    return value


def _iso_duration(value: timedelta) -> str:
    if value < timedelta(0):
        raise EvaluationError("a timer duration cannot be negative")
    seconds = str(value.seconds)
    if value.microseconds:
        seconds += f".{value.microseconds:06d}"
    return f"P{value.days}DT{seconds}S"


def _check_duration(text: str) -> None:
    try:
        parsed = TimerEventDefinition.parse_iso_duration(text)
    except Exception as exc:  # SpiffWorkflow raises a bare Exception
        raise EvaluationError(f"invalid ISO 8601 duration {text!r}") from exc
    months = parsed.get("years", 0) * 12 + parsed.get("months", 0)
    days = parsed.get("days", 0) + parsed.get("weeks", 0) * 7
    if months > MAX_TIMER_MONTHS or days > MAX_TIMER_MONTHS * 31:
        raise LimitExceeded(
            f"timer duration {text!r} is longer than {MAX_TIMER_MONTHS // 12} years"
        )


def _default_engine(*args: Any, **kwargs: Any) -> SafeScriptEngine:
    return make_script_engine()


# BpmnWorkflow falls back to `PythonScriptEngine()` (eval/exec) when given no engine.
spiff_workflow.PythonScriptEngine = _default_engine
