"""The engine's error family; `web` maps each class to an HTTP status once."""

from __future__ import annotations

from dataclasses import dataclass, field


class DematflowError(Exception):
    """Base of every error the engine raises on purpose."""


class NotFound(DematflowError):
    """The object does not exist for this tenant (another tenant's object does not exist either)."""


class Conflict(DematflowError):
    """A concurrent change won; reload and try again."""


class Unavailable(DematflowError):
    """A service the platform cannot work without (the database) does not answer now; nothing
    was written. Try again shortly: the web answers 503, the worker retries the job."""


class InvalidInput(DematflowError):
    """The request is malformed or breaks a rule; the message says which."""


@dataclass(frozen=True)
class FieldError:
    """One invalid field of a submitted form."""

    path: str
    """JSON path of the field, such as `decision` or `annexes/0/titre`."""
    message: str
    """French message shown next to the field."""


class FormValidationError(InvalidInput):
    """Submitted data does not match the task's form schema; lists every invalid field."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.path or '(formulaire)'} : {e.message}" for e in errors))


class Forbidden(DematflowError):
    """The actor may not do this (wrong lane/role)."""


class ProcessDefinitionError(DematflowError):
    """A process model is invalid; the message names the file, element and line when known."""


@dataclass
class ModelError(DematflowError):
    """A running model failed (expression error, missing variable): keeps SpiffWorkflow's trace."""

    message: str
    task_name: str | None = None
    trace: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        where = f" (tâche {self.task_name})" if self.task_name else ""
        return f"{self.message}{where}"
