"""Case state without its spec, and migration of states written in other formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer

from engine.runtime.facade import CaseRuntime
from engine.runtime.serializer import HISTORY_SCOPE, STATE_FORMAT, load_state
from engine.runtime.service_task import SERIALIZER_CONFIG
from engine.runtime.specs import parse_bundle, read_procedure_dir

ARRETE = Path(__file__).resolve().parents[2] / "processes" / "arrete"
DRAFT = {"objet": "Arrêté de voirie", "nature": "3", "texte": "Le maire arrête la fermeture."}


def _runtime_at_signature() -> CaseRuntime:
    parsed = parse_bundle(read_procedure_dir(ARRETE))
    runtime = CaseRuntime.start(parsed, {})
    runtime.complete_task(runtime.ready_tasks()[0].id, DRAFT)
    return runtime


def test_state_holds_no_spec_and_round_trips() -> None:
    runtime = _runtime_at_signature()
    dumped = runtime.dump()
    assert dumped.format == STATE_FORMAT
    everything = dumped.header + "".join(body for _scope, body in dumped.tasks.values())
    assert '"spec"' not in everything and "subprocess_specs" not in everything
    assert '"tasks"' not in dumped.header
    restored = CaseRuntime.restore_dumped(runtime.parsed, dumped)
    assert [t.name for t in restored.ready_tasks()] == ["signer"]
    assert restored.dump() == dumped


def test_older_inline_format_still_loads() -> None:
    """df1 kept the tasks inside the header; cases saved so keep loading."""
    runtime = _runtime_at_signature()
    dumped = runtime.dump()
    header = json.loads(dumped.header)
    header["tasks"] = {
        tid: json.loads(body)
        for tid, (scope, body) in dumped.tasks.items()
        if scope != HISTORY_SCOPE  # df1 had no history rows
    }
    restored = CaseRuntime.restore(runtime.parsed, json.dumps(header), "df1/1.5")
    assert [t.name for t in restored.ready_tasks()] == ["signer"]


def test_stock_spiffworkflow_serialization_is_migrated_on_load() -> None:
    runtime = _runtime_at_signature()
    stock = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SERIALIZER_CONFIG))
    serialized = stock.serialize_json(runtime._workflow)
    version = json.loads(serialized)[BpmnWorkflowSerializer.VERSION_KEY]
    assert '"spec"' in serialized  # the stock format embeds the spec
    workflow = load_state(serialized, f"spiff/{version}", runtime.parsed)
    restored = CaseRuntime(runtime.parsed, workflow)
    assert [t.name for t in restored.ready_tasks()] == ["signer"]
    assert restored.data["objet"] == DRAFT["objet"]


def test_unknown_format_is_refused() -> None:
    runtime = _runtime_at_signature()
    dumped = runtime.dump()
    with pytest.raises(ValueError, match="format d'état inconnu"):
        load_state(dumped.header, "xyz/1.0", runtime.parsed, dumped.tasks)


def test_a_long_loop_keeps_advancing_past_spiffworkflows_depth_limit() -> None:
    """SpiffWorkflow's iterator stops at depth 1000 (~333 iterations of a 3-node loop)."""
    parsed = parse_bundle(read_procedure_dir(ARRETE.parents[1] / "bench" / "procedures" / "boucle"))
    runtime = CaseRuntime.start(parsed, {"n": 0, "limite": 500})
    for value in range(500):
        ready = runtime.ready_tasks()
        assert ready, f"stalled at iteration {value}"
        runtime.complete_task(ready[0].id, {"valeur": value})
        if value in (100, 400):
            runtime = CaseRuntime.restore_dumped(parsed, runtime.dump())
    assert runtime.completed and runtime.data["n"] == 500


def test_task_rows_restore_in_any_order() -> None:
    """Rows come back from the database in no particular order; task data are deltas on the
    parent's, so restoring must put parents first or the data are lost."""
    runtime = _runtime_at_signature()
    dumped = runtime.dump()
    shuffled = dict(reversed(list(dumped.tasks.items())))
    restored = CaseRuntime.restore(runtime.parsed, dumped.header, dumped.format, shuffled)
    assert restored.data["objet"] == DRAFT["objet"]
    assert restored.dump() == dumped


def test_formats_whose_migration_would_eval_are_refused() -> None:
    runtime = _runtime_at_signature()
    dumped = runtime.dump()
    with pytest.raises(ValueError, match="exécuterait du code"):
        load_state(dumped.header, "spiff/1.2", runtime.parsed, dumped.tasks)
