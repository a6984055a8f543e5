"""Workflow state <-> JSON, without the spec: a case stores only its own state.

SpiffWorkflow's serializer embeds the whole spec in every workflow (~45 KiB for a small
process). Specs are stored once, content-addressed, and the parsed spec objects are shared,
so the instance JSON holds tasks, data and subprocess state only. The serializer version is
stored beside the state; `migrate_state` upgrades older formats on load.

Tasks pruned from the tree (`engine.runtime.spiff_prune`) leave their completed flow nodes in
the case's history: rows of the same table under the scope `~history`, 64 visits a row, so
that a step rewrites only the last one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
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
from engine.runtime.spiff_prune import Visit

SPIFF_FORMAT: str = SPIFF_VERSION
# Our own envelope version: "<ours>/<spiff>". df1: tasks inline in the header; df2: tasks in
# their own rows (the header has none); df3: df2 whose finished past may be pruned from the
# tree, with history rows. All load; every save writes df3.
STATE_FORMAT = f"df3/{SPIFF_FORMAT}"

HISTORY_SCOPE = "~history"
"""Scope of the history rows (a task's scope is "" or a subprocess id: never this)."""
HISTORY_ROW_VISITS = 64


class History:
    """Completed flow nodes pruned from a case's task tree, oldest first, as stored rows.

    Rows are decoded only when asked (`visits`, `task_ids`) or when the last, partly filled
    one receives new visits: a step that prunes nothing leaves them as they were read.
    """

    def __init__(self, rows: Mapping[str, str] | None = None) -> None:
        self._rows: dict[str, str] = dict(sorted((rows or {}).items()))
        self._pending: list[Visit] = []

    def add(self, visits: list[Visit]) -> None:
        self._pending.extend(visits)

    def visits(self) -> list[Visit]:
        found: list[Visit] = []
        for body in self._rows.values():
            for entry in json.loads(body):  # [at, task id, node] or [..., within, process]
                at, task_id, node, within, process = [*entry, None, None][:5]
                found.append((float(at), task_id, node, within, process))
        return found + self._pending

    def task_ids(self) -> set[str]:
        return {visit[1] for visit in self.visits()}

    def rows(self) -> dict[str, str]:
        if self._pending:
            keys = list(self._rows)
            visits: list[Any] = []
            if keys:
                last = json.loads(self._rows[keys[-1]])
                if len(last) < HISTORY_ROW_VISITS:
                    visits = last
                    keys.pop()
            visits.extend(list(v[:3]) if v[3] is None else list(v) for v in self._pending)
            for start in range(0, len(visits), HISTORY_ROW_VISITS):
                key = f"~h{len(keys):06d}"
                keys.append(key)
                chunk = visits[start : start + HISTORY_ROW_VISITS]
                self._rows[key] = json.dumps(chunk, separators=(",", ":"))
            self._pending = []
        return self._rows


def history_of(workflow: Any) -> History:
    """The history attached to a restored (or new) top workflow."""
    history: History | None = getattr(workflow, "df_history", None)
    if history is None:
        history = History()
        workflow.df_history = history
    return history


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
        tasks.update(
            (key, (HISTORY_SCOPE, body)) for key, body in history_of(workflow).rows().items()
        )
        return DumpedState(_encode(dct), tasks, STATE_FORMAT)
    finally:
        _SERIALIZER.registry._encoder_mode = False


def load_state(
    header: str, state_format: str, parsed: ParsedProcess, tasks: TaskRows | None = None
) -> Any:
    decoder = _SERIALIZER.json_decoder_cls
    dct = json.loads(header, cls=decoder)
    history: dict[str, str] = {}
    if tasks:
        scoped: dict[str, dict[str, Any]] = {}
        for task_id, (scope, body) in tasks.items():
            if scope == HISTORY_SCOPE:
                history[task_id] = body
                continue
            scoped.setdefault(scope, {})[task_id] = json.loads(body, cls=decoder)
        dct["tasks"] = _tree_order(scoped.get("", {}), dct["root"])
        for scope, subprocess in dct.get("subprocesses", {}).items():
            subprocess["tasks"] = _tree_order(scoped.get(scope, {}), subprocess["root"])
    dct = migrate_state(dct, state_format)
    workflow = _CONVERTER.restore_with_spec(dct, parsed)
    workflow.df_history = History(history)
    return workflow


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
    elif envelope not in ("df1", "df2", "df3"):
        raise ValueError(f"format d'état inconnu : {state_format}")
    if spiff_version and spiff_version != SPIFF_FORMAT:
        dct = _migrate_spiff(dct, spiff_version)
    return dct
