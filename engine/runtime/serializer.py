"""Workflow state <-> JSON, without the spec: a case stores only its own state.

SpiffWorkflow's serializer embeds the whole spec in every workflow (~45 KiB for a small
process). Specs are stored once, content-addressed, and the parsed spec objects are shared,
so the instance JSON holds tasks, data and subprocess state only. The serializer version is
stored beside the state; `migrate_state` upgrades older formats on load.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.migration.version_migration import MIGRATIONS
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SPIFF_VERSION
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from engine.domain.model import DumpedState, TaskRows
from engine.runtime.service_task import SERIALIZER_CONFIG
from engine.runtime.specs import ParsedProcess

SPIFF_FORMAT: str = SPIFF_VERSION
# Our own envelope version: "<ours>/<spiff>". df1: tasks inline in the header; df2: tasks in
# their own rows (the header has none). Both load; every save writes df2.
STATE_FORMAT = f"df2/{SPIFF_FORMAT}"


class _InstanceConverter(BpmnWorkflowConverter):  # type: ignore[misc]
    """Converts a top-level workflow without its specs."""

    def to_dict(self, workflow: Any) -> dict[str, Any]:
        dct: dict[str, Any] = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def restore_with_spec(self, dct: dict[str, Any], parsed: ParsedProcess) -> Any:
        workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _make_serializer() -> tuple[BpmnWorkflowSerializer, _InstanceConverter]:
    config = dict(SERIALIZER_CONFIG)
    config[BpmnWorkflow] = _InstanceConverter
    registry = BpmnWorkflowSerializer.configure(config)
    serializer = BpmnWorkflowSerializer(registry)
    converter = _InstanceConverter(BpmnWorkflow, registry)
    return serializer, converter


_SERIALIZER, _CONVERTER = _make_serializer()


def _encode(value: Any) -> str:
    return json.dumps(value, cls=_SERIALIZER._encoder_cls, separators=(",", ":"))


def dump_state(workflow: Any) -> DumpedState:
    _SERIALIZER.registry._encoder_mode = True
    try:
        dct = _CONVERTER.to_dict(workflow)
        tasks: TaskRows = {tid: ("", _encode(t)) for tid, t in dct.pop("tasks").items()}
        for scope, subprocess in dct["subprocesses"].items():
            tasks.update({tid: (scope, _encode(t)) for tid, t in subprocess.pop("tasks").items()})
        return DumpedState(_encode(dct), tasks, STATE_FORMAT)
    finally:
        _SERIALIZER.registry._encoder_mode = False


def load_state(
    header: str, state_format: str, parsed: ParsedProcess, tasks: TaskRows | None = None
) -> Any:
    decoder = _SERIALIZER.json_decoder_cls
    dct = json.loads(header, cls=decoder)
    if tasks:
        scoped: dict[str, dict[str, Any]] = {}
        for task_id, (scope, body) in tasks.items():
            scoped.setdefault(scope, {})[task_id] = json.loads(body, cls=decoder)
        dct["tasks"] = _tree_order(scoped.get("", {}), dct["root"])
        for scope, subprocess in dct.get("subprocesses", {}).items():
            subprocess["tasks"] = _tree_order(scoped.get(scope, {}), subprocess["root"])
    dct = migrate_state(dct, state_format)
    return _CONVERTER.restore_with_spec(dct, parsed)


def _tree_order(tasks: dict[str, Any], root: str) -> dict[str, Any]:
    """Parents before children: SpiffWorkflow stores a task's data as a delta on its parent's,
    so a task can only be restored once its parent is."""
    ordered: dict[str, Any] = {}
    pending = [root]
    while pending:
        task_id = pending.pop()
        task = tasks.get(task_id)
        if task is None or task_id in ordered:
            continue
        ordered[task_id] = task
        pending.extend(reversed(task["children"]))
    if len(ordered) != len(tasks):
        raise ValueError("état de dossier incohérent : tâches hors de l'arbre")
    return ordered


UNSAFE_SPIFF_FORMATS = frozenset({"1.0", "1.1", "1.2"})
"""SpiffWorkflow's migration through format 1.2 evaluates stored text with Python `eval`."""


def _migrate_spiff(dct: dict[str, Any], spiff_version: str) -> dict[str, Any]:
    """Run SpiffWorkflow's own migrations for states written by an older library version."""
    if spiff_version in UNSAFE_SPIFF_FORMATS:
        raise ValueError(
            f"format d'état SpiffWorkflow {spiff_version} refusé : sa migration exécuterait du code"
        )
    migration: Callable[[dict[str, Any]], None] | None = MIGRATIONS.get(spiff_version)
    if migration is not None:
        migration(dct)
    return dct


def _from_stock_spiff(dct: dict[str, Any]) -> dict[str, Any]:
    """`spiff/<v>`: a stock SpiffWorkflow serialization (spec embedded, as spiff-arena or a
    plain `serialize_json` writes it). The spec is dropped (the case's spec hash names it);
    the library's own migrations bring the rest to the current format."""
    dct.pop("spec", None)
    dct.pop("subprocess_specs", None)
    dct.pop(BpmnWorkflowSerializer.VERSION_KEY, None)
    return dct


def migrate_state(dct: dict[str, Any], state_format: str) -> dict[str, Any]:
    """Bring a stored state to the current format: `df1`/`df2` (ours), `spiff/<v>` (stock)."""
    envelope, _, spiff_version = state_format.partition("/")
    if envelope == "spiff":
        dct = _from_stock_spiff(dct)
    elif envelope not in ("df1", "df2"):
        raise ValueError(f"format d'état inconnu : {state_format}")
    if spiff_version and spiff_version != SPIFF_FORMAT:
        dct = _migrate_spiff(dct, spiff_version)
    return dct
