"""One typed facade over SpiffWorkflow: what the services may do with a running case."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.dmn.specs.business_rule_task_mixin import BusinessRuleTaskMixin
from SpiffWorkflow.exceptions import (
    SpiffWorkflowException,
    TaskNotFoundException,
    WorkflowException,
)
from SpiffWorkflow.spiff.specs.event_definitions import (
    ErrorEventDefinition,
    MessageEventDefinition,
    SignalEventDefinition,
)
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.domain.errors import InvalidInput, ModelError, NotFound
from engine.domain.model import DumpedState, TaskRows
from engine.runtime import spiff_limits  # noqa: F401  (lifts the task depth limit)
from engine.runtime.anonymise import Erased, anonymise_workflow
from engine.runtime.clock import frozen_now
from engine.runtime.evaluator import EvaluationError
from engine.runtime.script_engine import make_script_engine
from engine.runtime.serializer import dump_state, history_of, load_state
from engine.runtime.service_task import PARAMS_KEY, AsyncServiceTask
from engine.runtime.specs import ParsedProcess, element_name, form_name, task_properties
from engine.runtime.spiff_prune import prune
from engine.runtime.trail import NodeVisit, done_visit, node_visits

_SCRIPT_ENGINE = make_script_engine()


@dataclass(frozen=True)
class ReadyTask:
    id: UUID
    name: str
    title: str
    lane: str | None
    form_name: str | None
    form: dict[str, Any] | None
    assignee: str | None = None
    """Login named by the task's `assignee` property: only that person (or a deputy) acts."""


@dataclass(frozen=True)
class ServiceCall:
    task_id: UUID
    name: str
    operation: str
    params: dict[str, Any]


@dataclass(frozen=True)
class TimerWait:
    task_id: UUID
    node: str
    name: str
    due_at: datetime


@dataclass(frozen=True)
class MessageWait:
    task_id: UUID
    message: str
    correlation: str | None


@dataclass(frozen=True)
class Snapshot:
    """What a case waits for after a step, gathered in one walk over its active tasks."""

    ready: tuple[ReadyTask, ...]
    service_calls: tuple[ServiceCall, ...]
    timers: tuple[TimerWait, ...]
    messages: tuple[MessageWait, ...]
    current_steps: tuple[str, ...]


EMPTY_SNAPSHOT = Snapshot((), (), (), (), ())


class CaseRuntime:
    """A running case's workflow. Not thread-safe; one per unit of work."""

    def __init__(self, parsed: ParsedProcess, workflow: Any) -> None:
        self.parsed = parsed
        self._workflow = workflow
        workflow.script_engine = _SCRIPT_ENGINE

    @classmethod
    def start(cls, parsed: ParsedProcess, data: dict[str, Any]) -> CaseRuntime:
        workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=_SCRIPT_ENGINE)
        runtime = cls(parsed, workflow)
        start = workflow.get_next_task(state=TaskState.READY)
        if start is not None:
            start.set_data(**copy.deepcopy(data))
        runtime.advance()
        return runtime

    @classmethod
    def restore(
        cls, parsed: ParsedProcess, header: str, state_format: str, tasks: TaskRows | None = None
    ) -> CaseRuntime:
        return cls(parsed, load_state(header, state_format, parsed, tasks))

    @classmethod
    def restore_dumped(cls, parsed: ParsedProcess, dumped: DumpedState) -> CaseRuntime:
        return cls.restore(parsed, dumped.header, dumped.format, dumped.tasks)

    def dump(self) -> DumpedState:
        """The case's state to store; the finished past that no longer matters is pruned from
        the workflow first (its completed flow nodes stay in the history)."""
        history_of(self._workflow).add(prune(self._workflow))
        return dump_state(self._workflow)

    # -- running -----------------------------------------------------------------------------

    def advance(self, *, now: datetime | None = None) -> None:
        """Run every automatic step (gateways, scripts, timers due at `now`).

        Whatever goes wrong while the case moves (an expression, SpiffWorkflow itself, a value
        of the wrong type) comes out as a `ModelError` naming the BPMN element: nothing else
        escapes the facade, so callers put the case in error instead of crashing.
        """
        running: list[Any] = []
        try:
            if now is None:
                self._workflow.do_engine_steps(will_complete_task=running.append)
            else:
                with frozen_now(now):
                    self._workflow.refresh_timers()
                    self._workflow.do_engine_steps(will_complete_task=running.append)
        except Exception as exc:  # the facade lets only ModelError out
            raise model_error(exc, running[-1] if running else None) from exc

    @property
    def completed(self) -> bool:
        return bool(self._workflow.completed)

    @property
    def data(self) -> dict[str, Any]:
        last = self._workflow.last_task
        source = last.data if last is not None else self._workflow.data
        return {k: v for k, v in source.items() if not k.startswith("spiff__")}

    def cancel(self) -> None:
        self._workflow.cancel()

    def anonymise(self, paths: Iterable[str]) -> Erased:
        """Anonymise personal data keys of a closed case (RGPD purge), and their copies."""
        return anonymise_workflow(self._workflow, paths)

    def completed_nodes(self) -> list[str]:
        """BPMN ids of the completed flow nodes, in completion order (for scenario checks),
        those pruned from the task tree included."""
        return [node for _at, _task_id, node in self.completed_visits()]

    def completed_visits(self) -> list[tuple[float, str, str]]:
        """(time, task id hex, BPMN id) of every completed flow node, in completion order."""
        workflows = [self._workflow, *self._workflow.subprocesses.values()]
        done = [visit[:3] for visit in history_of(self._workflow).visits()]
        done.extend(
            (task.last_state_change, task.id.hex, task.task_spec.bpmn_id)
            for workflow in workflows
            for task in workflow.tasks.values()
            if task.state == TaskState.COMPLETED and task.task_spec.bpmn_id
        )
        done.sort(key=lambda visit: visit[0])
        return done

    def knows_task(self, task_id: UUID) -> bool:
        """Whether the case has or had this task (pruned completed tasks included)."""
        return (
            self._task(task_id) is not None or task_id.hex in history_of(self._workflow).task_ids()
        )

    def trail(self) -> list[NodeVisit]:
        """Each pass through a flow node, done (in order) or active: the case's drawn path,
        the passes pruned from the task tree included."""
        return node_visits(self._workflow, self._pruned_visits())

    def _pruned_visits(self) -> list[tuple[float, NodeVisit]]:
        specs: dict[tuple[str | None, str], Any] = {}
        for process, spec in [(None, self.parsed.spec), *self.parsed.subprocess_specs.items()]:
            for task_spec in spec.task_specs.values():
                if getattr(task_spec, "bpmn_id", None):
                    specs.setdefault((process, task_spec.bpmn_id), task_spec)
        found = []
        for at, task_id, node, within, process in history_of(self._workflow).visits():
            task_spec = specs.get((process, node))
            if task_spec is not None:
                found.append((at, done_visit(task_spec, UUID(hex=task_id), within)))
        return found

    # -- what the case waits for --------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        ready: list[ReadyTask] = []
        calls: list[ServiceCall] = []
        timers: list[TimerWait] = []
        messages: list[MessageWait] = []
        steps: list[str] = []
        active = TaskState.READY | TaskState.STARTED | TaskState.WAITING
        for task in self._workflow.get_tasks(state=active):
            spec = task.task_spec
            if spec.bpmn_id and spec.bpmn_name and not isinstance(spec, BoundaryEvent):
                # A boundary event is an exception path of its activity, not a step the
                # case is at: it stays a wait (timer, message) but is not shown as current.
                steps.append(spec.bpmn_name)
            try:  # the assignee, correlation and timer expressions are evaluated here
                if task.state == TaskState.READY and spec.manual:
                    ready.append(self._ready_task(task))
                elif task.state == TaskState.STARTED and isinstance(spec, AsyncServiceTask):
                    calls.append(_service_call(task))
                elif task.state == TaskState.WAITING:
                    for definition in _waited_definitions(spec):
                        if isinstance(definition, TimerEventDefinition):
                            timers.extend(_timer_wait(task, definition))
                        elif isinstance(spec, CatchingEvent) and isinstance(
                            definition, MessageEventDefinition
                        ):
                            messages.append(_message_wait(task, definition))
            except Exception as exc:  # see `advance`
                raise model_error(exc, task) from exc
        return Snapshot(tuple(ready), tuple(calls), tuple(timers), tuple(messages), tuple(steps))

    def current_steps(self) -> list[str]:
        return list(self.snapshot().current_steps)

    def ready_tasks(self) -> list[ReadyTask]:
        return list(self.snapshot().ready)

    def service_calls(self) -> list[ServiceCall]:
        return list(self.snapshot().service_calls)

    def timers(self) -> list[TimerWait]:
        return list(self.snapshot().timers)

    def message_waits(self) -> list[MessageWait]:
        return list(self.snapshot().messages)

    def _ready_task(self, task: Any) -> ReadyTask:
        spec = task.task_spec
        name = form_name(spec)
        return ReadyTask(
            id=task.id,
            name=spec.bpmn_id or spec.name,
            title=_title(task),
            lane=spec.lane,
            form_name=name,
            form=self.parsed.forms.get(name) if name else None,
            assignee=_assignee(task),
        )

    def _task(self, task_id: UUID) -> Any:
        """The task with this id, or None (SpiffWorkflow 3.2 raises for an unknown id)."""
        try:
            return self._workflow.get_task_from_id(task_id)
        except TaskNotFoundException:
            return None

    def ready_task(self, task_id: UUID) -> ReadyTask:
        task = self._task(task_id)
        if task is None or task.state != TaskState.READY or not task.task_spec.manual:
            raise NotFound("Cette tâche n'est pas (ou plus) à faire.")
        return self._ready_task(task)

    def complete_task(self, task_id: UUID, data: dict[str, Any]) -> ReadyTask:
        ready = self.ready_task(task_id)
        task = self._workflow.get_task_from_id(task_id)
        task.set_data(**copy.deepcopy(data))
        try:
            task.run()
        except Exception as exc:  # see `advance`
            raise model_error(exc, task) from exc
        self.advance()
        return ready

    # -- service tasks -----------------------------------------------------------------------

    def _started_service_task(self, task_id: UUID) -> Any:
        task = self._task(task_id)
        if task is None or not isinstance(task.task_spec, AsyncServiceTask):
            raise NotFound("tâche de service introuvable")
        if task.state != TaskState.STARTED:
            raise InvalidInput("cette tâche de service n'attend plus de résultat")
        return task

    def complete_service(self, task_id: UUID, result: Any) -> None:
        task = self._started_service_task(task_id)
        task.data[task.task_spec.result_variable] = copy.deepcopy(result)
        try:
            task.complete()
        except Exception as exc:  # see `advance`
            raise model_error(exc, task) from exc
        self.advance()

    def fail_service(self, task_id: UUID, *, code: str, message: str) -> bool:
        """Route a failure to an error boundary event of the task; False when there is none."""
        task = self._started_service_task(task_id)
        catcher = _error_boundary(task, code)
        if catcher is None:
            return False
        payload = {"code": code, "message": message}
        definition = ErrorEventDefinition(catcher.task_spec.event_definition.name, code=code)
        try:
            catcher.task_spec.event_definition.catch(catcher, BpmnEvent(definition, payload))
            catcher.task_spec._update(catcher)
        except Exception as exc:  # see `advance`
            raise model_error(exc, catcher) from exc
        self.advance()
        return True

    # -- timers and messages -----------------------------------------------------------------

    def deliver_message(self, name: str, payload: dict[str, Any]) -> bool:
        event = BpmnEvent(MessageEventDefinition(name), payload=copy.deepcopy(payload))
        return self._send(event)

    def deliver_signal(self, name: str) -> bool:
        """Send the signal `name` from outside; False when nothing in the case catches it."""
        return self._send(BpmnEvent(SignalEventDefinition(name)))

    def _send(self, event: BpmnEvent) -> bool:
        try:
            self._workflow.send_event(event)
        except WorkflowException:
            return False
        except Exception as exc:  # see `advance`
            raise model_error(exc) from exc
        self.advance()
        return True


@dataclass
class _DecisionTask:
    """What SpiffWorkflow's DMN engine reads of a task: its data, its spec (named in errors)
    and its workflow's script engine."""

    data: dict[str, Any]
    task_spec: Any
    workflow: Any


def decide(parsed: ParsedProcess, decision: str, data: Mapping[str, Any]) -> dict[str, Any] | None:
    """The outputs of the DMN decision `decision` for `data`, as the business rule task of the
    process that calls it computes them (SpiffWorkflow's DMN engine and hit policy, our script
    engine): {} when no rule applies, None when no task of the process calls that decision."""
    for spec in [parsed.spec, *parsed.subprocess_specs.values()]:
        for task_spec in spec.task_specs.values():
            if not isinstance(task_spec, BusinessRuleTaskMixin):
                continue
            if (getattr(task_spec, "extensions", None) or {}).get("calledDecisionId") != decision:
                continue
            workflow = SimpleNamespace(script_engine=_SCRIPT_ENGINE)
            task = _DecisionTask(copy.deepcopy(dict(data)), task_spec, workflow)
            try:
                return dict(task_spec.dmnEngine.result(task))
            except (SpiffWorkflowException, EvaluationError) as exc:
                raise model_error(exc, task) from exc
    return None


def _waited_definitions(spec: Any) -> list[Any]:
    """The events a waiting task waits for: one, or each of an event-based gateway's."""
    definition = getattr(spec, "event_definition", None)
    inner = getattr(definition, "event_definitions", None)
    return list(inner) if inner else [definition]


def _service_call(task: Any) -> ServiceCall:
    spec = task.task_spec
    return ServiceCall(
        task_id=task.id,
        name=spec.bpmn_id or spec.name,
        operation=spec.operation_name,
        params=dict(task._get_internal_data(PARAMS_KEY) or {}),
    )


def _timer_wait(task: Any, definition: Any) -> list[TimerWait]:
    value = definition.details(task).value
    if isinstance(definition, CycleTimerEventDefinition) and isinstance(value, dict):
        value = value.get("next")
    if not isinstance(value, str):
        return []
    spec = task.task_spec
    due = TimerEventDefinition.get_datetime(value)
    return [TimerWait(task.id, spec.bpmn_id or spec.name, spec.bpmn_name or spec.name, due)]


def _message_wait(task: Any, definition: Any) -> MessageWait:
    expression = task_properties(task.task_spec).get("correlation")
    correlation = None
    if expression:
        value = _SCRIPT_ENGINE.environment.evaluate(expression, task.data)
        correlation = None if value is None else str(value)
    return MessageWait(task.id, definition.name, correlation)


TITLE_MAX = 300
"""A task's title as stored with it (`human_tasks.title`)."""


def _title(task: Any) -> str:
    """The task's name, followed by what its `subject` expression gives, if any: the item a
    multi-instance task is about (« Enregistrer le vote du point : 2. Tarifs… »), so that
    several instances of one task can be told apart in inboxes and on the task page."""
    spec = task.task_spec
    title = str(spec.bpmn_name or spec.name)
    expression = task_properties(spec).get("subject")
    if not expression:
        return title
    try:
        value = _SCRIPT_ENGINE.environment.evaluate(expression, task.data)
    except EvaluationError as exc:
        raise ModelError(f"sujet de la tâche illisible : {exc}") from exc
    subject = " ".join(str(value or "").split())
    if not subject:
        return title
    full = f"{title} : {subject}"
    return full if len(full) <= TITLE_MAX else full[: TITLE_MAX - 1].rstrip() + "…"


def _assignee(task: Any) -> str | None:
    """The login the `assignee` expression gives (e.g. `signataire` in a multi-instance)."""
    expression = task_properties(task.task_spec).get("assignee")
    if not expression:
        return None
    try:
        value = _SCRIPT_ENGINE.environment.evaluate(expression, task.data)
    except EvaluationError as exc:
        raise ModelError(f"destinataire de la tâche illisible : {exc}") from exc
    login = str(value or "").strip().removeprefix("user:")
    if not login:
        raise ModelError(f"la tâche « {task.task_spec.bpmn_name} » n'a pas de destinataire")
    return login


def _error_boundary(task: Any, code: str) -> Any | None:
    parent = task.parent
    if parent is None:
        return None
    for sibling in parent.children:
        definition = getattr(sibling.task_spec, "event_definition", None)
        if (
            sibling is not task
            and sibling.state == TaskState.WAITING
            and isinstance(definition, ErrorEventDefinition)
            and definition.code in (None, "", code)
        ):
            return sibling
    return None


def model_error(exc: Exception, running: Any | None = None) -> ModelError:
    """A French `ModelError` naming the BPMN element (id and name) where `exc` was raised.

    The element is the task SpiffWorkflow attached to its exception, else the innermost
    SpiffWorkflow task found in the traceback (a spec evaluating its cardinality, condition or
    script), else the task the engine was running when it failed.
    """
    if isinstance(exc, ModelError):
        return exc
    task = getattr(exc, "task", None) or _task_in_traceback(exc) or running
    trace = [str(t) for t in list(getattr(exc, "task_trace", []) or [])]
    if isinstance(exc, SpiffWorkflowException | EvaluationError):
        cause = str(exc)
    else:
        cause = f"erreur inattendue {type(exc).__name__} : {_bounded(str(exc))}"
    spec = getattr(task, "task_spec", None)
    if spec is None:
        return ModelError(f"le dossier n'a pas pu avancer : {cause}", trace=trace)
    element = spec.bpmn_id or spec.name
    name = element_name(spec) or element
    # The message names the element itself: no `task_name`, which would repeat it.
    return ModelError(f"l'élément {element} « {name} » a échoué : {cause}", trace=trace)


def _bounded(text: str, width: int = 300) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _task_in_traceback(exc: BaseException) -> Any | None:
    """The innermost frame's `my_task` (SpiffWorkflow's name for the task a spec works on)."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        candidate = tb.tb_frame.f_locals.get("my_task")
        if isinstance(candidate, Task):
            found = candidate
        tb = tb.tb_next
    return found
