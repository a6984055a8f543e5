"""Moving a running case onto another version of its procedure, by BPMN element id.

SpiffWorkflow's diff utilities (`SpiffWorkflow.bpmn.util.diff`) align the task specs of two
versions, mostly by element id. We use that alignment to re-point every task of the case at
the new version's specs, then rebuild only what the engine had *predicted* below the places the
case waits at (the possible futures), so that the new version's structure applies from there.
The waiting tasks themselves are kept as they are: a timer keeps its due date, a message wait
its correlation, a service call in flight its job, a signer of a multi-instance circuit their
item. SpiffWorkflow's own `migrate_workflow` resets waiting tasks instead, which restarts timers
and loses a multi-instance item, so it is not used.

A case is refused (never touched) when a place it waits at does not exist in the new version
(same element id and same kind of element), when its history went through an element the new
version removed (the stored history would name a spec that no longer exists), or when the
migrated state does not survive a save and restore with the same waits.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff
from SpiffWorkflow.util.task import TaskState

from engine.domain.model import DumpedState
from engine.runtime.facade import CaseRuntime, Snapshot
from engine.runtime.service_task import SERIALIZER_CONFIG
from engine.runtime.specs import ParsedProcess, element_name, form_name

_REGISTRY = BpmnWorkflowSerializer.configure(dict(SERIALIZER_CONFIG))
_ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
_PREDICTED = TaskState.PREDICTED_MASK | TaskState.FUTURE


@dataclass(frozen=True)
class WaitCheck:
    """One place the case waits at, and whether the new version has it."""

    element: str
    name: str
    kind: str
    """`tâche`, `minuteur`, `message`, `opération` or `attente` (French, shown as is)."""
    exists: bool


@dataclass(frozen=True)
class MigrationPreview:
    """What migrating one case would do; `migrable` False means it is left as it is."""

    migrable: bool
    waits: tuple[WaitCheck, ...]
    reasons: tuple[str, ...] = ()
    """Why the case cannot move (French sentences)."""
    missing_data: tuple[str, ...] = ()
    """Fields of the new forms the case's data lacks (French sentences)."""
    effects: tuple[str, ...] = ()
    """What would happen to the case (French sentences)."""


@dataclass
class _Findings:
    reasons: list[str] = field(default_factory=list)
    effects: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def migrate_case(
    old: ParsedProcess, new: ParsedProcess, dumped: DumpedState
) -> tuple[MigrationPreview, CaseRuntime | None]:
    """Migrate a case's stored state from `old` to `new`, in memory only.

    Returns the preview and, when migrable, the migrated runtime (bound to `new`), which the
    caller saves. The stored state is never changed here.
    """
    before_runtime = CaseRuntime.restore_dumped(old, dumped)
    before = before_runtime.snapshot()
    workflow = before_runtime._workflow
    found = _Findings()
    if new.spec.name != old.spec.name:
        found.reasons.append(
            f"le processus principal change ({old.spec.name} → {new.spec.name}) : "
            "les étapes ne peuvent pas être rapprochées"
        )
        return MigrationPreview(False, _waits(workflow, {}), tuple(found.reasons)), None
    diffs = _diffs(workflow, new, found)
    waits = _waits(workflow, diffs)
    for check in waits:
        if not check.exists:
            found.reasons.append(
                f"l'étape « {check.name} » ({check.element}) où le dossier attend "
                "n'existe pas dans la nouvelle version"
            )
    _check_history(diffs, found)
    if found.reasons:
        return MigrationPreview(False, waits, tuple(found.reasons)), None
    try:
        _repoint(workflow, new, diffs)
        _repredict(workflow)
        _check_structure(workflow, new)
        runtime = CaseRuntime(new, workflow)
        restored = CaseRuntime.restore_dumped(new, runtime.dump())
        after = restored.snapshot()
    except Exception as exc:  # any failure leaves the stored case untouched
        found.reasons.append(f"migration impossible : {type(exc).__name__} : {exc}"[:500])
        return MigrationPreview(False, waits, tuple(found.reasons)), None
    _compare_waits(before, after, found)
    if found.reasons:
        return MigrationPreview(False, waits, tuple(found.reasons)), None
    _describe(before, after, old, new, restored, diffs, found)
    preview = MigrationPreview(
        True, waits, (), tuple(found.missing), tuple(found.effects) or ("aucun changement visible",)
    )
    return preview, restored


def restore_previous(parsed: ParsedProcess, dumped: DumpedState) -> CaseRuntime:
    """The runtime of a state kept before a migration (for a rollback's waits index)."""
    return CaseRuntime.restore_dumped(parsed, dumped)


# -- alignment ------------------------------------------------------------------------------


def _diffs(workflow: Any, new: ParsedProcess, found: _Findings) -> dict[Any, WorkflowDiff | None]:
    """One diff per workflow (the case and each subprocess it has), keyed by the workflow."""
    diffs: dict[Any, WorkflowDiff | None] = {
        workflow: WorkflowDiff(workflow, SpecDiff(_REGISTRY, workflow.spec, new.spec))
    }
    for subprocess in workflow.subprocesses.values():
        target = new.subprocess_specs.get(subprocess.spec.name)
        if target is None:
            found.reasons.append(
                f"le sous-processus « {subprocess.spec.name} » en cours n'existe plus "
                "dans la nouvelle version"
            )
            diffs[subprocess] = None
            continue
        diffs[subprocess] = WorkflowDiff(subprocess, SpecDiff(_REGISTRY, subprocess.spec, target))
    return diffs


def _own_tasks(workflow: Any, state: int = TaskState.ANY_MASK) -> Iterator[Any]:
    for task in list(workflow.tasks.values()):
        if task.has_state(state):
            yield task


def _label(spec: Any) -> str:
    return element_name(spec) or spec.bpmn_name or spec.bpmn_id or spec.name


def _kind(task: Any) -> str:
    spec = task.task_spec
    definition = getattr(spec, "event_definition", None)
    if task.state == TaskState.STARTED and getattr(spec, "operation_name", None):
        return "opération"
    if spec.manual:
        return "tâche"
    if isinstance(spec, SubWorkflowTask):
        return "sous-processus"
    inner = getattr(definition, "event_definitions", None) or [definition]
    if any(isinstance(d, TimerEventDefinition) for d in inner):
        return "minuteur"
    if any(isinstance(d, MessageEventDefinition) for d in inner):
        return "message"
    return "attente"


def _waits(workflow: Any, diffs: Mapping[Any, WorkflowDiff | None]) -> tuple[WaitCheck, ...]:
    """The places the case waits at (ready, waiting, started tasks with a BPMN id)."""
    checks: list[WaitCheck] = []
    for owner in [workflow, *workflow.subprocesses.values()]:
        diff = diffs.get(owner)
        for task in _own_tasks(owner, _ACTIVE):
            spec = task.task_spec
            if not spec.bpmn_id or isinstance(spec, LoopTask):
                continue  # engine-internal (joins, splits) or a multi-instance's shell
            exists = False
            if diff is not None:
                target = diff.alignment.get(task)
                exists = (
                    target is not None
                    and target.name == spec.name
                    and type(target).__name__ == type(spec).__name__
                )
            checks.append(WaitCheck(spec.bpmn_id, _label(spec), _kind(task), exists))
    return tuple(checks)


def _check_history(diffs: Mapping[Any, WorkflowDiff | None], found: _Findings) -> None:
    """A task already done (or cancelled) whose element was removed cannot be re-pointed."""
    named: set[str] = set()
    for diff in diffs.values():
        if diff is None:
            continue
        for task in diff.removed:
            if task.has_state(_PREDICTED | _ACTIVE):
                continue
            spec = task.task_spec
            if spec.bpmn_id and spec.bpmn_id not in named:
                named.add(spec.bpmn_id)
                found.reasons.append(
                    f"l'historique du dossier contient « {_label(spec)} » ({spec.bpmn_id}), "
                    "retiré de la nouvelle version : il ne peut pas s'y rattacher"
                )
            elif not spec.bpmn_id and spec.name not in named:
                named.add(spec.name)
                found.reasons.append(
                    f"l'élément interne {spec.name} de l'historique n'existe plus "
                    "dans la nouvelle version"
                )


# -- moving the state -----------------------------------------------------------------------


def _repoint(workflow: Any, new: ParsedProcess, diffs: Mapping[Any, WorkflowDiff | None]) -> None:
    for owner, diff in diffs.items():
        assert diff is not None
        owner.spec = new.spec if owner is workflow else new.subprocess_specs[owner.spec.name]
        for task in owner.tasks.values():
            target = diff.alignment.get(task)
            if target is not None:
                task.task_spec = target
    workflow.subprocess_specs = dict(new.subprocess_specs)


def _repredict(workflow: Any) -> None:
    """Drop what was predicted below each waiting task and predict it again from the new spec.

    A multi-instance's shell keeps its instances (its children are not predictions)."""
    for owner in [workflow, *workflow.subprocesses.values()]:
        for task in _own_tasks(owner, _ACTIVE):
            if isinstance(task.task_spec, LoopTask):
                continue
            for child in list(task.children):
                if child.has_state(_PREDICTED) and child.id in owner.tasks:
                    _remove_branch(owner, child)
            task.task_spec._predict(task, mask=TaskState.NOT_FINISHED_MASK)
        # Predicted tasks whose spec the new version dropped, left under finished tasks.
        for task in _own_tasks(owner, TaskState.PREDICTED_MASK):
            stale = owner.spec.task_specs.get(task.task_spec.name) is not task.task_spec
            if stale and task.id in owner.tasks:
                _remove_branch(owner, task)


def _remove_branch(owner: Any, task: Any) -> None:
    for child in list(task.children):
        _remove_branch(owner, child)
    owner._remove_task(task.id)


def _check_structure(workflow: Any, new: ParsedProcess) -> None:
    for owner in [workflow, *workflow.subprocesses.values()]:
        for task in owner.tasks.values():
            spec = task.task_spec
            if owner.spec.task_specs.get(spec.name) is not spec:
                raise ValueError(
                    f"la tâche {spec.name} ({TaskState.get_name(task.state)}) "
                    "reste rattachée à l'ancienne version"
                )


def _compare_waits(before: Snapshot, after: Snapshot, found: _Findings) -> None:
    def key(snapshot: Snapshot) -> tuple[Any, ...]:
        return (
            sorted((t.id, t.name) for t in snapshot.ready),
            sorted((c.task_id, c.name) for c in snapshot.service_calls),
            sorted((t.task_id, t.node, t.due_at) for t in snapshot.timers),
            sorted((m.message, m.correlation or "") for m in snapshot.messages),
        )

    if key(before) != key(after):
        found.reasons.append(
            "après migration le dossier n'attendrait plus les mêmes étapes : il est laissé tel quel"
        )


# -- what the operator reads ----------------------------------------------------------------


def _fields(form: Mapping[str, Any] | None) -> dict[str, str]:
    properties = (form or {}).get("properties") or {}
    return {
        str(name): str((spec or {}).get("title") or name)
        for name, spec in properties.items()
        if isinstance(spec, dict)
    }


def _required(form: Mapping[str, Any] | None) -> set[str]:
    return {str(n) for n in (form or {}).get("required") or []}


def _describe(
    before: Snapshot,
    after: Snapshot,
    old: ParsedProcess,
    new: ParsedProcess,
    runtime: CaseRuntime,
    diffs: Mapping[Any, WorkflowDiff | None],
    found: _Findings,
) -> None:
    old_ready = {t.id: t for t in before.ready}
    for task in after.ready:
        previous = old_ready.get(task.id)
        line = f"la tâche « {task.title} » reste à faire"
        if previous is not None:
            changes = _form_changes(previous.form, task.form)
            if previous.title != task.title:
                changes.insert(0, f"intitulé « {previous.title} » → « {task.title} »")
            if changes:
                line += " ; " + " ; ".join(changes)
        found.effects.append(line)
    for timer in after.timers:
        found.effects.append(
            f"le minuteur « {timer.name} » garde son échéance du {timer.due_at:%d/%m/%Y %H:%M} UTC"
        )
    for wait in after.messages:
        found.effects.append(f"le message « {wait.message} » reste attendu")
    for call in after.service_calls:
        found.effects.append(
            f"l'opération « {call.name} » en cours se termine avec les paramètres déjà envoyés"
        )
    dropped = sorted(
        {
            _label(task.task_spec)
            for diff in diffs.values()
            if diff is not None
            for task in diff.removed
            if task.has_state(_PREDICTED) and task.task_spec.bpmn_id
        }
    )
    if dropped:
        found.effects.append(
            "étapes retirées que le dossier ne rencontrera plus : " + ", ".join(dropped)
        )
    _missing_data(runtime, old, new, found)


def _form_changes(
    old_form: Mapping[str, Any] | None, new_form: Mapping[str, Any] | None
) -> list[str]:
    old_fields, new_fields = _fields(old_form), _fields(new_form)
    required = _required(new_form)
    changes = []
    added = [n for n in new_fields if n not in old_fields]
    if added:
        changes.append(
            "champs ajoutés : "
            + ", ".join(
                f"{new_fields[n]}{' (obligatoire)' if n in required else ''}" for n in added
            )
        )
    removed = [old_fields[n] for n in old_fields if n not in new_fields]
    if removed:
        changes.append("champs retirés : " + ", ".join(removed))
    relabelled = [
        f"« {old_fields[n]} » → « {new_fields[n]} »"
        for n in new_fields
        if n in old_fields and old_fields[n] != new_fields[n]
    ]
    if relabelled:
        changes.append("libellés modifiés : " + ", ".join(relabelled))
    return changes


def _missing_data(
    runtime: CaseRuntime, old: ParsedProcess, new: ParsedProcess, found: _Findings
) -> None:
    """Fields the new forms of tasks the case already did add (or now require) that its data
    does not hold: the case went past them, so nobody will be asked for them."""
    data = runtime.data
    workflow = runtime._workflow
    seen: set[str] = set()
    for owner in [workflow, *workflow.subprocesses.values()]:
        for task in _own_tasks(owner, TaskState.COMPLETED):
            spec = task.task_spec
            name = form_name(spec)
            if not spec.manual or not name or name in seen:
                continue
            seen.add(name)
            form = new.forms.get(name)
            before, before_required = _fields(old.forms.get(name)), _required(old.forms.get(name))
            required = _required(form)
            for field_name, title in _fields(form).items():
                if field_name in data or field_name in task.data:
                    continue
                newly_required = field_name in required and field_name not in before_required
                if field_name in before and not newly_required:
                    continue
                mark = "obligatoire" if field_name in required else "facultatif"
                found.missing.append(
                    f"« {title} » ({field_name}, {mark}) du formulaire de « {_label(spec)} »"
                )
