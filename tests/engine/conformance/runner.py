"""Run a conformance model through the facade, saving and restoring the case at every step."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from engine.runtime.facade import CaseRuntime
from engine.runtime.specs import ParsedProcess, bundle_from_files, parse_bundle
from tests.engine.conformance.models import Model

Step = tuple[Any, ...]
"""`("complete", task_id, data)`, `("service", task_id, result)`, `("fail", task_id, code)`,
`("message", name, payload)`, `("signal", name)`, `("timer", node_id)`."""


def _saved(parsed: ParsedProcess, runtime: CaseRuntime) -> CaseRuntime:
    return CaseRuntime.restore_dumped(parsed, runtime.dump())


def _step(runtime: CaseRuntime, step: Step) -> None:
    kind, target, *rest = step
    argument = rest[0] if rest else {}
    if kind == "complete":
        (task,) = [t for t in runtime.ready_tasks() if t.name == target][:1]
        runtime.complete_task(task.id, argument)
    elif kind in ("service", "fail"):
        (call,) = [c for c in runtime.service_calls() if c.name == target][:1]
        if kind == "service":
            runtime.complete_service(call.task_id, argument)
        else:
            assert runtime.fail_service(call.task_id, code=argument, message="échec")
    elif kind == "message":
        assert runtime.deliver_message(target, argument), f"nobody waits for {target}"
    elif kind == "signal":
        assert runtime.deliver_signal(target), f"nobody waits for {target}"
    elif kind == "timer":
        (wait,) = [w for w in runtime.timers() if w.node == target][:1]
        runtime.advance(now=wait.due_at + timedelta(seconds=1))  # as the scenario runner
    else:  # pragma: no cover - a typo in a table
        raise AssertionError(f"unknown step {kind}")


def run(model: Model, start: dict[str, Any], steps: list[Step]) -> CaseRuntime:
    """Start a case of `model` with `start`, play `steps`; the case is saved and restored
    after the start and after every step, as the engine does between requests."""
    parsed = parse_bundle(bundle_from_files(model.files))
    runtime = _saved(parsed, CaseRuntime.start(parsed, dict(start)))
    for step in steps:
        _step(runtime, step)
        runtime = _saved(parsed, runtime)
    return runtime


def path(model: Model, runtime: CaseRuntime) -> list[str]:
    """The completed flow nodes of the model, in completion order."""
    return [node for node in runtime.completed_nodes() if node in model.nodes]
