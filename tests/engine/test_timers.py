"""Timers in UTC: fixed dates with an offset, computed dates, cycles; naive values refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.domain.errors import ModelError
from engine.runtime.facade import CaseRuntime
from engine.runtime.specs import bundle_from_files, parse_bundle

BPMN = (Path(__file__).parent / "bpmn" / "timers.bpmn").read_bytes()
MANIFEST = b"id: timers\ntitle: Minuteurs\nmain_process: timers\n"


def _runtime(echeance: str) -> CaseRuntime:
    parsed = parse_bundle(bundle_from_files({"procedure.yaml": MANIFEST, "timers.bpmn": BPMN}))
    return CaseRuntime.start(parsed, {"echeance": echeance})


def _round_trip(runtime: CaseRuntime) -> CaseRuntime:
    return CaseRuntime.restore_dumped(runtime.parsed, runtime.dump())


def test_date_timer_fires_at_its_utc_instant() -> None:
    runtime = _runtime("2030-04-02T10:00:00Z")
    (wait,) = runtime.timers()
    assert wait.node == "a_date"
    assert wait.due_at == datetime(2030, 4, 1, 6, 0, tzinfo=UTC)
    runtime.advance(now=datetime(2030, 4, 1, 5, 59, tzinfo=UTC))
    assert [t.node for t in runtime.timers()] == ["a_date"]
    runtime = _round_trip(runtime)
    runtime.advance(now=datetime(2030, 4, 1, 6, 0, 1, tzinfo=UTC))
    (computed,) = runtime.timers()
    assert computed.node == "a_echeance" and computed.due_at == datetime(
        2030, 4, 2, 10, 0, tzinfo=UTC
    )


def test_cycle_fires_each_period_then_stops() -> None:
    runtime = _runtime("2030-04-02T10:00:00Z")
    runtime.advance(now=datetime(2030, 4, 3, tzinfo=UTC))
    assert [t.name for t in runtime.ready_tasks()] == ["traiter"]
    (cycle,) = runtime.timers()
    assert cycle.node == "rappel"
    fired_at = cycle.due_at + timedelta(seconds=1)
    runtime = _round_trip(runtime)
    runtime.advance(now=fired_at)
    assert "compter_rappel" in runtime.completed_nodes()
    (again,) = runtime.timers()
    assert again.due_at == cycle.due_at + timedelta(hours=24)
    runtime.advance(now=again.due_at + timedelta(seconds=1))
    assert runtime.completed_nodes().count("compter_rappel") == 2
    assert runtime.timers() == []


def test_naive_computed_date_is_refused_at_run_time() -> None:
    runtime = _runtime("2030-04-02T10:00:00")
    with pytest.raises(ModelError, match="sans fuseau"):
        runtime.advance(now=datetime(2030, 4, 1, 7, 0, tzinfo=UTC))
