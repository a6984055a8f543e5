"""What a case shows as its current step: where it is, not the exception paths it watches."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from engine.runtime.facade import CaseRuntime
from engine.runtime.specs import bundle_from_files, parse_bundle

BPMN = (Path(__file__).parent / "bpmn" / "timers.bpmn").read_bytes()
MANIFEST = b"id: timers\ntitle: Minuteurs\nmain_process: timers\n"


def test_a_boundary_timer_is_a_wait_but_not_a_current_step() -> None:
    parsed = parse_bundle(bundle_from_files({"procedure.yaml": MANIFEST, "timers.bpmn": BPMN}))
    runtime = CaseRuntime.start(parsed, {"echeance": "2030-04-02T10:00:00Z"})
    assert runtime.current_steps() == ["Date fixe"]
    runtime.advance(now=datetime(2030, 4, 3, tzinfo=UTC))
    snapshot = runtime.snapshot()
    assert [t.node for t in snapshot.timers] == ["rappel"]  # still watched...
    assert snapshot.current_steps == ("Traiter",)  # ...but the case is at « Traiter »
