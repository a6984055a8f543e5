"""Engine step cost against a floor measured in the same run, on PostgreSQL.

Floor of one persisted step: stock SpiffWorkflow deserializes the workflow JSON, completes the
user task and runs the engine steps in memory, serializes it again, and one PostgreSQL UPDATE
writes that JSON (one transaction). A dematflow step does the real thing: load the case (state
without spec, spec from the content-addressed cache), validate the form, advance, write the
case under its version check, the waits index, the journal link and the outbox, commit.

Long cases: the same `complete_task` step along one looping case, at step 10 and step 400
(target: step 400 within 1.5x step 10), in wall time and in this process's CPU time (the
machine is shared: CPU time is the steadier figure; PostgreSQL's own work is not in it), and
a 500-item multi-instance user task, sequential and parallel, completed item by item.

`BENCH_PARTS=long` measures the long cases only (results in `engine_long.json`).
"""

from __future__ import annotations

import json
import os
import platform as host
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import text

from engine.bootstrap import Platform, build_platform, prepare_database
from engine.domain.model import Actor
from engine.runtime.facade import _SCRIPT_ENGINE
from engine.runtime.service_task import SERIALIZER_CONFIG
from engine.runtime.specs import parse_bundle, read_procedure_dir
from engine.services import admin
from engine.services import cases as case_services
from engine.settings import Settings

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
TENANT = "213400005"
AGENT = Actor("user:bench", frozenset({"agent"}), "Banc")
REPEAT = 200


def _pg(sql: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def _fresh_platform(name: str, data_dir: Path) -> Platform:
    _pg(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _pg(f"CREATE DATABASE {name}")
    settings = Settings(
        data_dir=data_dir, database_url=f"postgresql+psycopg://postgres@127.0.0.1/{name}"
    )
    p = build_platform(settings)
    prepare_database(p)
    with p.uow() as uow:
        admin.deploy_directory(uow, HERE / "procedures", operations=p.operations, now=p.clock())
        admin.create_tenant(uow, siren=TENANT, name="Commune du banc", actor=AGENT, now=p.clock())
        uow.commit()
    return p


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def floor_step_ms(p: Platform, repeat: int = REPEAT) -> float:
    """Stock SpiffWorkflow: deserialize + step + serialize + one UPDATE of the JSON."""
    parsed = parse_bundle(read_procedure_dir(HERE / "procedures" / "boucle"))
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SERIALIZER_CONFIG))
    workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=_SCRIPT_ENGINE)
    workflow.get_next_task(state=TaskState.READY).set_data(n=0, limite=10**6)
    workflow.do_engine_steps()
    for _ in range(10):  # same position as the dematflow measurement
        task = workflow.get_next_task(state=TaskState.READY, manual=True)
        task.set_data(valeur=1)
        task.run()
        workflow.do_engine_steps()
    snapshot = state = serializer.serialize_json(workflow)
    with p.db.begin() as conn:
        conn.execute(
            text("CREATE TABLE IF NOT EXISTS floor_state (id int PRIMARY KEY, state text)")
        )
        conn.execute(text("INSERT INTO floor_state VALUES (1, :s)"), {"s": state})
    samples = []
    for i in range(repeat):
        if i % 10 == 0:  # same case length as the dematflow measurement: back to step 10
            state = snapshot
        started = time.perf_counter()
        wf = serializer.deserialize_json(state)
        wf.script_engine = _SCRIPT_ENGINE
        task = wf.get_next_task(state=TaskState.READY, manual=True)
        task.set_data(valeur=i)
        task.run()
        wf.do_engine_steps()
        state = serializer.serialize_json(wf)
        with p.db.begin() as conn:
            conn.execute(text("UPDATE floor_state SET state = :s WHERE id = 1"), {"s": state})
        samples.append(time.perf_counter() - started)
    return _median_ms(samples)


def _start_loop_case(p: Platform) -> uuid.UUID:
    with p.uow() as uow:
        case = case_services.start_case(
            uow,
            tenant=TENANT,
            procedure="boucle",
            data={"n": 0, "limite": 10**6},
            actor=AGENT,
            now=p.clock(),
        )
        uow.commit()
    return case.id


def _ready_task(p: Platform, case_id: uuid.UUID) -> uuid.UUID:
    with p.uow() as uow:
        return uow.cases.human_tasks(TENANT, case_id=case_id)[0].id


def _step(p: Platform, case_id: uuid.UUID, value: int, task_id: uuid.UUID | None = None) -> None:
    """One API-like step: the client knows the task it completes (as the floor knows its task)."""
    task_id = task_id or _ready_task(p, case_id)
    with p.uow() as uow:
        case_services.complete_task(
            uow,
            tenant=TENANT,
            case_id=case_id,
            task_id=task_id,
            data={"valeur": value},
            actor=AGENT,
            now=p.clock(),
        )
        uow.commit()


def dematflow_step_ms(p: Platform, repeat: int = REPEAT, warm_steps: int = 10) -> float:
    """Median over fresh cases each advanced to step `warm_steps`, then one measured step."""
    samples = []
    case_id = _start_loop_case(p)
    for i in range(warm_steps):
        _step(p, case_id, i)
    for i in range(repeat):
        if i % 10 == 0:
            case_id = _start_loop_case(p)
            for j in range(warm_steps):
                _step(p, case_id, j)
        task_id = _ready_task(p, case_id)
        started = time.perf_counter()
        _step(p, case_id, i, task_id)
        samples.append(time.perf_counter() - started)
    return _median_ms(samples)


def fill_cases(p: Platform, count: int) -> None:
    """Bulk-store `count` cases (copies of a real case at step 10, with their index and journal rows)."""
    template = _start_loop_case(p)
    for i in range(10):
        _step(p, template, i)
    with p.db.begin() as conn:
        conn.execute(
            text("""
            INSERT INTO cases (id, tenant, procedure, spec_hash, reference, title, status, version,
                               serializer_version, state, summary, current_steps, error, cancel_reason,
                               created_by, created_at, updated_at)
            SELECT gen_random_uuid(), tenant, procedure, spec_hash, 'B' || left(:tag, 8) || '-' || g, title, status, version,
                   serializer_version, state, summary, current_steps, error, cancel_reason, created_by,
                   created_at, updated_at
            FROM cases, generate_series(1, :n) AS g WHERE id = :template
        """),
            {"n": count, "template": template, "tag": template.hex},
        )
        conn.execute(
            text("""
            INSERT INTO human_tasks (id, case_id, tenant, name, title, lane, form, created_at)
            SELECT gen_random_uuid(), c.id, c.tenant, 'etape', 'Étape', 'agent', NULL, c.created_at
            FROM cases c WHERE c.reference LIKE 'B%' AND NOT EXISTS
                (SELECT 1 FROM human_tasks h WHERE h.case_id = c.id)
        """)
        )
        conn.execute(
            text("""
            INSERT INTO journal (tenant, seq, kind, case_id, actor, payload, recorded_at, prev_hash, hash)
            SELECT CAST(:tenant AS varchar), (SELECT 1000000 + count(*) FROM journal)
                       + row_number() OVER (), 'case.started', c.id, 'user:bench',
                   '{"procedure": "boucle"}', c.created_at, repeat('0', 64), repeat('0', 64)
            FROM cases c WHERE c.reference LIKE 'B%' AND c.tenant = CAST(:tenant AS varchar)
              AND NOT EXISTS (SELECT 1 FROM journal j WHERE j.case_id = c.id)
        """),
            {"tenant": TENANT},
        )
        conn.execute(text("ANALYZE"))


def _step_bytes(p: Platform, case_id: uuid.UUID, value: int, task_id: uuid.UUID) -> int:
    with p.uow() as uow:
        case_services.complete_task(
            uow,
            tenant=TENANT,
            case_id=case_id,
            task_id=task_id,
            data={"valeur": value},
            actor=AGENT,
            now=p.clock(),
        )
        written = uow.cases.last_write_bytes
        uow.commit()
    return written


def _timed_step(p: Platform, case_id: uuid.UUID, value: int) -> tuple[float, float, int]:
    """(wall s, CPU s, state bytes written) of one `complete_task` step, task id known."""
    task_id = _ready_task(p, case_id)
    wall, cpu = time.perf_counter(), time.process_time()
    written = _step_bytes(p, case_id, value, task_id)
    return time.perf_counter() - wall, time.process_time() - cpu, written


def _state_bytes(p: Platform, case_id: uuid.UUID) -> tuple[int, int]:
    """(workflow state bytes, history bytes) stored for the case."""
    with p.db.connect() as conn:
        row = conn.execute(
            text(
                "SELECT length(c.state) + coalesce((SELECT sum(length(body)) FROM case_tasks t "
                "WHERE t.case_id = c.id AND t.scope <> '~history'), 0), "
                "coalesce((SELECT sum(length(body)) FROM case_tasks t "
                "WHERE t.case_id = c.id AND t.scope = '~history'), 0) "
                "FROM cases c WHERE c.id = :i"
            ),
            {"i": case_id},
        ).one()
    return int(row[0]), int(row[1])


def growth(
    p: Platform, checkpoints: tuple[int, ...] = (10, 50, 100, 200, 400), samples: int = 9
) -> list[dict[str, Any]]:
    """Step cost, state bytes written per step and total state size as one case grows."""
    case_id = _start_loop_case(p)
    rows = []
    done = 0
    for target in checkpoints:
        while done < target - 1:
            _step(p, case_id, done)
            done += 1
        walls, cpus, written = [], [], []
        for _ in range(samples):
            wall, cpu, size = _timed_step(p, case_id, done)
            walls.append(wall)
            cpus.append(cpu)
            written.append(size)
            done += 1
        state, history = _state_bytes(p, case_id)
        rows.append(
            {
                "step": target,
                "median_ms": round(_median_ms(walls), 2),
                "median_cpu_ms": round(_median_ms(cpus), 2),
                "state_bytes_written": int(statistics.median(written)),
                "state_bytes_total": state,
                "history_bytes": history,
            }
        )
    return rows


def _ratio(rows: list[dict[str, Any]], key: str, last: int, first: int) -> float:
    by_step = {r["step"]: r[key] for r in rows}
    return round(by_step[last] / by_step[first], 2)


def multi_instance(
    p: Platform, items: int = 500, at: tuple[int, ...] = (10, 400)
) -> dict[str, Any]:
    """A user task over `items` elements, completed one element a step until the end."""
    result: dict[str, Any] = {}
    for procedure in ("collecte_sequentielle", "collecte_parallele"):
        wall, cpu = time.perf_counter(), time.process_time()
        with p.uow() as uow:
            case = case_services.start_case(
                uow,
                tenant=TENANT,
                procedure=procedure,
                data={"elements": [{"numero": i, "objet": f"Point {i}"} for i in range(items)]},
                actor=AGENT,
                now=p.clock(),
            )
            uow.commit()
        started = (time.perf_counter() - wall, time.process_time() - cpu)
        per_step: list[tuple[float, float]] = []
        for value in range(items):
            step_wall, step_cpu, _written = _timed_step(p, case.id, value)
            per_step.append((step_wall, step_cpu))
        with p.uow() as uow:
            final = uow.cases.get(TENANT, case.id)
        state, history = _state_bytes(p, case.id)

        entry: dict[str, Any] = {
            "items": items,
            "start_ms": round(started[0] * 1000, 1),
            "start_cpu_ms": round(started[1] * 1000, 1),
            "completed": final.status.value,
            "state_bytes_at_end": state,
            "history_bytes_at_end": history,
        }
        for n in at:
            window = per_step[n - 1 : n + 4]  # the 5 steps from step n
            entry[f"step_{n}_ms"] = round(_median_ms([s[0] for s in window]), 2)
            entry[f"step_{n}_cpu_ms"] = round(_median_ms([s[1] for s in window]), 2)
        entry["worst_step_ms"] = round(max(s[0] for s in per_step) * 1000, 1)
        result[procedure] = entry
    return result


def long_cases(p: Platform) -> dict[str, Any]:
    rows = growth(p)
    return {
        "long_case": rows,
        "ratio_step_400_vs_10": _ratio(rows, "median_ms", 400, 10),
        "ratio_cpu_step_400_vs_10": _ratio(rows, "median_cpu_ms", 400, 10),
        "target_ratio_step_400_vs_10": 1.5,
        "multi_instance_500": multi_instance(p),
    }


def _machine() -> str:
    return f"{host.machine()} {host.python_version()} {os.cpu_count()} CPU"


def main() -> None:
    RESULTS.mkdir(exist_ok=True)
    data_dir = RESULTS / "tmp-engine"
    only_long = os.environ.get("BENCH_PARTS") == "long"
    p = _fresh_platform("dematflow_bench", data_dir)
    result: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
    }
    try:
        if not only_long:
            floor = floor_step_ms(p)
            step = dematflow_step_ms(p)
            result.update(
                {
                    "floor_step_ms": round(floor, 2),
                    "dematflow_step_ms": round(step, 2),
                    "ratio_step_vs_floor": round(step / floor, 2),
                    "target_ratio_step_vs_floor": 2.0,
                }
            )
        result.update(long_cases(p))
        if not only_long:
            fill_cases(p, 1_000)
            at_1k = dematflow_step_ms(p, repeat=100)
            fill_cases(p, 99_000)
            at_100k = dematflow_step_ms(p, repeat=100)
            result.update(
                {
                    "step_ms_with_1k_cases": round(at_1k, 2),
                    "step_ms_with_100k_cases": round(at_100k, 2),
                    "ratio_100k_vs_1k": round(at_100k / at_1k, 2),
                    "target_ratio_100k_vs_1k": 1.2,
                }
            )
    finally:
        p.db.dispose()
        _pg("DROP DATABASE IF EXISTS dematflow_bench WITH (FORCE)")
    name = "engine_long.json" if only_long else "engine.json"
    (RESULTS / name).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
