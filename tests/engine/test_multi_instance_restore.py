"""A multi-instance started in one process goes on in another.

Each process parses the stored definition itself (`engine.runtime.specs`); SpiffWorkflow
merges a finished instance through an event it connects when it creates the instances. The
web after a restart, or any process other than the one that started the instances, parses a
fresh definition: the instance's completion must still be merged (the mayor's `signer` of the
signature circuit stayed STARTED and no signing job was queued, bench_pipeline).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.runtime.facade import CaseRuntime
from engine.runtime.specs import parse_bundle, read_procedure_dir

BENCH = Path(__file__).resolve().parents[2] / "bench" / "procedures"


@pytest.mark.parametrize("procedure", ["collecte_sequentielle", "collecte_parallele"])
def test_instances_started_elsewhere_are_merged_when_they_complete(procedure: str) -> None:
    bundle = read_procedure_dir(BENCH / procedure)
    items = [{"numero": i} for i in range(3)]
    started = CaseRuntime.start(parse_bundle(bundle), {"elements": items})
    dumped = started.dump()
    for value in range(len(items)):
        # Another process: the definition parsed again, the case restored from its state.
        runtime = CaseRuntime.restore_dumped(parse_bundle(bundle), dumped)
        (task, *_rest) = runtime.ready_tasks()
        runtime.complete_task(task.id, {"valeur": value})
        dumped = runtime.dump()
    finished = CaseRuntime.restore_dumped(parse_bundle(bundle), dumped)
    assert finished.completed, [t.name for t in finished.ready_tasks()]
    assert len(finished.data["avis_recus"]) == len(items)
