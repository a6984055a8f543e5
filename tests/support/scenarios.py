"""Test harness of the scenario files beside each BPMN: given data, steps, stubbed service
results, expectations (run by tests/engine/test_processes.py and a few other tests).

Each step saves and restores the case (JSON round trip), as production does between steps,
so a scenario also proves that every intermediate state serializes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from engine.domain.errors import FormValidationError
from engine.runtime.clock import frozen_now
from engine.runtime.facade import CaseRuntime, ReadyTask
from engine.runtime.specs import ParsedProcess
from engine.services.forms import validate_form

PARIS = ZoneInfo("Europe/Paris")


class ScenarioFailure(AssertionError):
    """A scenario's expectation did not hold; the message says which step and why."""


@dataclass
class ScenarioResult:
    name: str
    visited: list[str]
    data: dict[str, Any]
    completed: bool
    round_trips: int = 0
    timeline: list[str] = field(default_factory=list)


def load_scenarios(directory: Path) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted((directory / "scenarios").glob("*.yaml")):
        found.append((path.stem, yaml.safe_load(path.read_text(encoding="utf-8"))))
    return found


def _round_trip(runtime: CaseRuntime) -> CaseRuntime:
    return CaseRuntime.restore_dumped(runtime.parsed, runtime.dump())


SCENARIO_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def run_scenario(parsed: ParsedProcess, name: str, scenario: dict[str, Any]) -> ScenarioResult:
    """Run a scenario on the scenario clock (it starts on `start_at`, default 2 March 2026, and
    moves only when a timer step fires), so results do not depend on today's date."""
    now = _parse_start(scenario.get("start_at"))
    with frozen_now(now):
        runtime = CaseRuntime.start(parsed, dict(scenario.get("start") or {}))
    trips = 0
    for index, step in enumerate(scenario.get("steps") or [], start=1):
        runtime = _round_trip(runtime)
        trips += 1
        where = f"scénario {name}, étape {index}"
        with frozen_now(now):
            now = _apply_step(runtime, step, now, where)
    runtime = _round_trip(runtime)
    trips += 1
    result = ScenarioResult(name, runtime.completed_nodes(), runtime.data, runtime.completed, trips)
    _check(result, scenario.get("expect") or {}, name)
    return result


def _wall(moment: datetime) -> datetime:
    """The Paris wall time of `moment` (naive): what a timer's duration counts in days."""
    return moment.astimezone(PARIS).replace(tzinfo=None)


def _parse_start(value: Any) -> datetime:
    if value is None:
        return SCENARIO_START
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ScenarioFailure(f"start_at sans fuseau : {value}")
    return moment.astimezone(UTC)


def _pick_task(runtime: CaseRuntime, step: dict[str, Any], where: str) -> ReadyTask:
    """The ready task named by the step; among assigned instances, the one of `pour` or `by`."""
    candidates = [t for t in runtime.ready_tasks() if t.name == step["complete"]]
    if not candidates:
        ready = sorted(t.name for t in runtime.ready_tasks())
        raise ScenarioFailure(f"{where}: tâche {step['complete']} non prête (prêtes : {ready})")
    if all(t.assignee is None for t in candidates):
        return candidates[0]
    login = str(step.get("pour") or step.get("by") or "").removeprefix("user:")
    for task in candidates:
        if task.assignee == login:
            return task
    assignees = sorted(str(t.assignee) for t in candidates)
    raise ScenarioFailure(
        f"{where}: aucune tâche {step['complete']} pour « {login} » ({assignees})"
    )


def _complete(runtime: CaseRuntime, step: dict[str, Any], now: datetime, where: str) -> None:
    """Complete a human task as the engine does: form checked, then `<task>_par` added.

    An assigned task is completed by its assignee (`by`), or by a deputy (`by`) standing in
    for the assignee (`pour`), as the engine records it after checking the delegation.
    """
    task = _pick_task(runtime, step, where)
    if "lane" in step and task.lane != step["lane"]:
        raise ScenarioFailure(f"{where}: couloir {task.lane}, attendu {step['lane']}")
    data = dict(step.get("data") or {})
    done_by = data.pop(f"{task.name}_par", None) or {}
    try:
        validate_form(task.form, data)
    except FormValidationError as exc:
        raise ScenarioFailure(f"{where}: données refusées par le formulaire : {exc}") from exc
    default = f"user:{task.assignee}" if task.assignee else f"user:{task.lane or 'agent'}"
    by = step.get("by") or done_by.get("utilisateur") or default
    if task.assignee and by != f"user:{task.assignee}" and not step.get("pour"):
        raise ScenarioFailure(f"{where}: tâche réservée à {task.assignee}, faite par {by}")
    data[f"{task.name}_par"] = {
        "utilisateur": by,
        "nom": done_by.get("nom", by),
        "le": done_by.get("le", now.isoformat()),
    }
    if step.get("pour"):
        pour = str(step["pour"])
        data[f"{task.name}_par"].update(
            {"pour": pour, "pour_nom": pour, "mention": f"par délégation de {pour}"}
        )
    runtime.complete_task(task.id, data)


def _apply_step(runtime: CaseRuntime, step: dict[str, Any], now: datetime, where: str) -> datetime:
    if "complete" in step:
        _complete(runtime, step, now, where)
    elif "service" in step:
        calls = {c.name: c for c in runtime.service_calls()}
        call = calls.get(step["service"])
        if call is None:
            raise ScenarioFailure(
                f"{where}: pas d'appel de service {step['service']} ({sorted(calls)})"
            )
        if "operation" in step and call.operation != step["operation"]:
            raise ScenarioFailure(
                f"{where}: opération {call.operation}, attendue {step['operation']}"
            )
        if "params" in step and call.params != step["params"]:
            raise ScenarioFailure(f"{where}: paramètres {call.params}, attendus {step['params']}")
        if "error" in step:
            error = step["error"]
            routed = runtime.fail_service(
                call.task_id, code=error["code"], message=error.get("message", "")
            )
            if routed != error.get("routed", True):
                raise ScenarioFailure(f"{where}: erreur routée={routed}")
        else:
            runtime.complete_service(call.task_id, step.get("result") or {})
    elif "message" in step:
        waits = {w.message: w for w in runtime.message_waits()}
        wait = waits.get(step["message"])
        if wait is None:
            raise ScenarioFailure(
                f"{where}: aucun message {step['message']} attendu ({sorted(waits)})"
            )
        if "correlation" in step and wait.correlation != str(step["correlation"]):
            raise ScenarioFailure(
                f"{where}: corrélation {wait.correlation}, attendue {step['correlation']}"
            )
        runtime.deliver_message(step["message"], dict(step.get("payload") or {}))
    elif "timer" in step:
        timers = {t.node: t for t in runtime.timers()}
        timer = timers.get(step["timer"])
        if timer is None:
            raise ScenarioFailure(f"{where}: minuteur {step['timer']} non armé ({sorted(timers)})")
        if "due_in" in step:  # on the Paris wall clock: 30 days are 29 d 23 h across March
            expected = timedelta(**step["due_in"])
            armed = _wall(timer.due_at) - _wall(now)
            if abs(armed - expected) > timedelta(minutes=5):
                raise ScenarioFailure(f"{where}: échéance dans {armed}, attendu {expected}")
        now = max(now, timer.due_at + timedelta(seconds=1))
        with frozen_now(now):
            runtime.advance(now=now)
    else:
        raise ScenarioFailure(f"{where}: étape inconnue {sorted(step)}")
    if "expect_assignees" in step:
        assignees = sorted(str(t.assignee) for t in runtime.ready_tasks())
        if assignees != sorted(step["expect_assignees"]):
            raise ScenarioFailure(
                f"{where}: tâches pour {assignees}, attendues {sorted(step['expect_assignees'])}"
            )
    if "expect_titles" in step:
        titles = sorted(t.title for t in runtime.ready_tasks())
        if titles != sorted(step["expect_titles"]):
            raise ScenarioFailure(f"{where}: titres {titles}, attendus {step['expect_titles']}")
    if "expect_ready" in step:
        ready_names = sorted(t.name for t in runtime.ready_tasks())
        if ready_names != sorted(step["expect_ready"]):
            raise ScenarioFailure(
                f"{where}: tâches prêtes {ready_names}, attendues {sorted(step['expect_ready'])}"
            )
    return now


def _check(result: ScenarioResult, expect: dict[str, Any], name: str) -> None:
    if "completed" in expect and result.completed != expect["completed"]:
        raise ScenarioFailure(f"scénario {name}: terminé={result.completed}")
    for key, value in (expect.get("data") or {}).items():
        if result.data.get(key) != value:
            raise ScenarioFailure(
                f"scénario {name}: {key}={result.data.get(key)!r}, attendu {value!r}"
            )
    path = expect.get("path")
    if path:
        visited = iter(result.visited)
        if not all(any(node == seen for seen in visited) for node in path):
            raise ScenarioFailure(
                f"scénario {name}: chemin {result.visited} ne contient pas {path} dans l'ordre"
            )
    for node in expect.get("not_visited") or []:
        if node in result.visited:
            raise ScenarioFailure(f"scénario {name}: {node} n'aurait pas dû être atteint")
