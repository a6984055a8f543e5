"""What an operation is: typed parameters, three phases (prepare, act, record) and the verdicts.

The runner (`engine.operations.runner`) drives every operation the same way:

- `prepare(uow, ctx, params) -> plan` in a read transaction: reads what the work needs, checks
  who may do it, returns a plan (plain data), or `Done(result)` when the work was done already;
- `act(plan) -> outcome` with no transaction open: the slow or remote part (TSA, pyHanko, S3,
  @ctes, SMTP, PDF rendering); operations that are pure database effects pass the plan through;
- `record(uow, ctx, outcome) -> result` in the runner's write transaction, which also remembers
  the effect by its idempotency key and advances the case. `record` may instead return a
  verdict: `RunAgain` (commit this reservation, then run the phases again: a key or a frozen
  package must be stored before the remote effect), `RetryLater` or `Failed` (commit what
  `record` wrote, such as a refusal on record, then retry or fail the job).

Parameters are a frozen dataclass per operation whose fields are declared with `param()`: the
same parser checks a literal parameter when the procedure is deployed and every value at run
time; the field names are the only parameters a BPMN service task may give.
"""

from __future__ import annotations

import ast
import dataclasses
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

from engine.domain.errors import DematflowError, ProcessDefinitionError
from engine.persistence.uow import UnitOfWork
from engine.settings import Settings

P = TypeVar("P")
L = TypeVar("L")
O = TypeVar("O")  # noqa: E741 - the outcome type of an operation
T = TypeVar("T")


class OperationFailed(DematflowError):
    """A definitive failure: routed to the model's error boundary (matched by `code`)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class OperationRetry(DematflowError):
    """A transient failure (service down, timeout): the job is retried later."""


class Resources:
    """Set-ups built once per process on first use (keys, archive store): slow to build and
    shared by every job of the worker. A set-up that fails is built again next time."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._built: dict[Callable[[Settings], Any], Any] = {}

    def get(self, build: Callable[[Settings], T]) -> T:
        if build not in self._built:
            self._built[build] = build(self.settings)
        return cast(T, self._built[build])


@dataclass(frozen=True)
class OperationContext:
    """What an operation knows of the call; `idempotency_key` is stable across retries."""

    tenant: str
    case_id: uuid.UUID
    operation: str
    idempotency_key: str
    now: datetime
    """The tenant's time: a training tenant's clock may stand ahead of the real one."""
    real_now: datetime
    """The platform's real time, for what is compared with outside clocks (a seal's timestamp)."""
    resources: Resources

    @property
    def settings(self) -> Settings:
        return self.resources.settings


@dataclass(frozen=True)
class Done:
    """`prepare` found the work already done (its result is on record): no act, no record."""

    result: dict[str, Any]


@dataclass(frozen=True)
class RunAgain:
    """`record` stored a reservation (a key, a frozen package) that must exist before the remote
    effect: the runner commits it and runs the three phases again."""


@dataclass(frozen=True)
class RetryLater:
    """`record` wrote why the work waits (kept): the job is retried later."""

    message: str


@dataclass(frozen=True)
class Failed:
    """`record` wrote a definitive refusal (kept): the job fails with this code."""

    code: str
    message: str


Verdict = dict[str, Any] | RunAgain | RetryLater | Failed


def param(parse: Callable[[Any], Any] = lambda value: value, *, required: bool = False) -> Any:
    """A parameter field: `parse` turns the evaluated BPMN value (None when absent) into the
    field's value or raises OperationFailed; `required` parameters must be named by the task."""
    return field(metadata={"parse": parse, "required": required})


def parse_params(kind: type[P], raw: Mapping[str, Any]) -> P:
    """The operation's parameters from the values the service task evaluated."""
    fields = dataclasses.fields(cast(Any, kind))
    return kind(**{f.name: f.metadata["parse"](raw.get(f.name)) for f in fields})


@dataclass(frozen=True)
class Operation(Generic[P, L, O]):
    """A service-task operation: its BPMN name, its parameters and its three phases."""

    name: str
    params: type[P]
    prepare: Callable[[UnitOfWork, OperationContext, P], L | Done]
    act: Callable[[L], O]
    record: Callable[[UnitOfWork, OperationContext, O], Verdict]
    queue: str = "engine"
    """Celery queue of the job: engine, signing, sealing, connectors or audits."""
    description: str = ""

    def parse(self, raw: Mapping[str, Any]) -> P:
        return parse_params(self.params, raw)

    def problems(self, given: Mapping[str, str]) -> list[str]:
        """What is wrong with a service task's parameters (name → expression), in French."""
        fields = {f.name: f for f in dataclasses.fields(cast(Any, self.params))}
        problems = [
            f"paramètre inconnu « {name} » (paramètres possibles : {', '.join(fields) or 'aucun'})"
            for name in given
            if name not in fields
        ]
        problems += [
            f"paramètre obligatoire « {name} » manquant"
            for name, f in fields.items()
            if f.metadata["required"] and name not in given
        ]
        for name, source in given.items():
            if name in fields:
                problem = _literal_problem(fields[name].metadata["parse"], source)
                if problem:
                    problems.append(f"paramètre « {name} » : {problem}")
        return problems


def _literal_problem(parse: Callable[[Any], Any], source: str) -> str | None:
    """A literal value is checked now by the parser that reads it at run time; an expression
    depends on the case and is checked when the task runs."""
    try:
        value = ast.literal_eval(source.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    try:
        parse(value)
    except OperationFailed as exc:
        return exc.message
    return None


def passing(plan: T) -> T:
    """The act of an operation whose whole effect is in our database."""
    return plan


class OperationRegistry:
    """The operations a platform runs (BPMN name → operation) and the set-ups they share."""

    def __init__(self, operations: Iterable[Operation[Any, Any, Any]], settings: Settings) -> None:
        self.resources = Resources(settings)
        self._operations: dict[str, Operation[Any, Any, Any]] = {}
        for operation in operations:
            if operation.name in self._operations:
                raise ValueError(f"operation {operation.name} registered twice")
            self._operations[operation.name] = operation

    def get(self, name: str) -> Operation[Any, Any, Any]:
        found = self._operations.get(name)
        if found is None:
            raise OperationFailed("operation_inconnue", f"Opération inconnue « {name} ».")
        return found

    def names(self) -> list[str]:
        return sorted(self._operations)

    def queues(self) -> list[str]:
        """The worker queues the operations run on."""
        return sorted({operation.queue for operation in self._operations.values()})

    def check_service_task(self, operation: str, params: Mapping[str, str]) -> None:
        """Deploy-time check of a service task: a known operation, given the parameters it
        takes (name → expression source), literal values it accepts."""
        found = self._operations.get(operation)
        if found is None:
            raise ProcessDefinitionError(f"opération inconnue « {operation} »")
        problems = found.problems(params)
        if problems:
            raise ProcessDefinitionError(f"opération « {operation} » : " + " ; ".join(problems))


def result_only(uow: UnitOfWork, ctx: OperationContext, outcome: dict[str, Any]) -> dict[str, Any]:
    """The record of an operation that changes nothing of ours: its result goes to the case."""
    del uow, ctx
    return outcome
