"""Cases saved by release 83599e0 open and continue after `dematflow db upgrade`.

The fixtures (tests/fixtures/releases/, produced by `make_fixture.py` run by that release itself;
its README says how), a SQLite database and a PostgreSQL dump, each hold 45 cases of the five shipped procedures, each stopped part-way
through one of that release's scenario files: waiting for a task, a timer, a message or a
service call's result. Here the database (the SQLite file, or the dump loaded by
`psql` into a fresh database of the session's private PostgreSQL) is upgraded by the `dematflow db upgrade` command
(a real process), then each case goes on with the rest of its scenario through this release's
code: timers fired by the timer job's per-case step, messages delivered through
`deliver_message` (applied to the case directly when another case waits for the same one), service results applied by the job runner to the job the old release queued,
tasks completed as the scenario harness does; each step reloads and saves the case as production
does. Every case must end as its scenario expects (completed or not, the expected data), and the
tenant's journal chain must verify (`dematflow audit verify --chain-only`).
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.bootstrap import Platform, build_platform
from engine.domain.model import Actor, CaseStatus
from engine.jobs.timers import _fire_case
from engine.operations.runner import _apply
from engine.runtime.clock import frozen_now
from engine.services import cases as case_services
from engine.services.messages import MessageOrigin
from engine.services.steps import load_case, save_loaded
from engine.settings import Settings
from tests.fixtures.private_services import PrivatePostgres, _pg_bin
from tests.fixtures.processes import run_dematflow
from tests.support.scenarios import _apply_step

pytestmark = pytest.mark.faults

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "releases" / "83599e0"
PREFECTURE = Actor.system("actes")


@pytest.fixture(params=["sqlite", "postgresql"])
def dialect(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def manifest(dialect: str) -> dict[str, Any]:
    name = FIXTURE if dialect == "sqlite" else Path(f"{FIXTURE}-postgresql")
    return dict(json.loads(Path(f"{name}.json").read_text(encoding="utf-8")))


@pytest.fixture
def upgraded(dialect: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """The fixture database, upgraded by `dematflow db upgrade`."""
    if dialect == "sqlite":
        database = tmp_path / "dematflow.sqlite3"
        with gzip.open(f"{FIXTURE}.sqlite3.gz", "rb") as packed, database.open("wb") as raw:
            shutil.copyfileobj(packed, raw)
        url = f"sqlite:///{database}"
    else:
        cluster: PrivatePostgres = request.getfixturevalue("private_postgres")
        if not cluster.running():
            cluster.start()
        name = f"rel_{uuid.uuid4().hex[:12]}"
        url = cluster.create_database(name)
        with gzip.open(f"{FIXTURE}-postgresql.sql.gz", "rb") as packed:
            dump = packed.read()
        psql = [_pg_bin("psql"), "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1"]
        subprocess.run(
            [*psql, "-p", str(cluster.port), "-U", "postgres", "-d", name, "-f", "-"],
            input=dump,
            capture_output=True,
            check=True,
            timeout=120,
        )
    settings = Settings(data_dir=tmp_path / "data", database_url=url)
    result = run_dematflow(settings, "db", "upgrade", timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    yield settings
    if dialect == "postgresql":
        cluster.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def platform(upgraded: Settings) -> Iterator[Platform]:
    p = build_platform(upgraded)
    yield p
    p.db.dispose()


def step_kind(step: dict[str, Any]) -> str:
    return next(k for k in ("complete", "service", "message", "timer") if k in step)


def correlation(step: dict[str, Any]) -> str | None:
    return str(step["correlation"]) if "correlation" in step else None


def only_one_waits(uow: Any, tenant: str, case_id: uuid.UUID, step: dict[str, Any]) -> bool:
    """Whether the message goes to this case alone: two cases stopped at different steps of one
    scenario wait for the same correlation (then the step is applied to this case directly)."""
    waiting = uow.cases.waiting_for_message(tenant, step["message"], correlation(step))
    assert case_id in waiting, step
    return bool(waiting == [case_id])


def continue_case(p: Platform, tenant: str, case_id: uuid.UUID, entry: dict[str, Any]) -> None:
    """The rest of the case's scenario, each step in its own transaction."""
    now = datetime.fromisoformat(entry["now"])
    for index, step in enumerate(entry["steps"], start=entry["done"] + 1):
        where = f"{entry['scenario']} (étape {index}, {step_kind(step)})"
        with p.uow() as uow:
            runtime = load_case(uow, tenant, case_id).runtime
            if "timer" in step:
                (timer,) = [t for t in runtime.timers() if t.node == step["timer"]]
                now = max(now, timer.due_at + timedelta(seconds=1))
                with frozen_now(now):
                    assert _fire_case(uow, tenant, case_id, now) >= 1, where
            elif "message" in step and only_one_waits(uow, tenant, case_id, step):
                with frozen_now(now):
                    case_services.deliver_message(
                        uow,
                        tenant=tenant,
                        message=step["message"],
                        correlation=correlation(step),
                        payload=dict(step.get("payload") or {}),
                        origin=MessageOrigin.connector(PREFECTURE),
                        now=now,
                    )
            elif "service" in step:
                (call,) = [c for c in runtime.service_calls() if c.name == step["service"]]
                (job,) = [
                    j for j in uow.jobs.for_case(tenant, case_id) if j.task_id == call.task_id
                ]
                error = step.get("error")
                failure = (error["code"], error.get("message", "")) if error else None
                with frozen_now(now):
                    _apply(uow, job, now, result=step.get("result") or {}, failure=failure)
            else:
                loaded = load_case(uow, tenant, case_id)
                with frozen_now(now):
                    now = _apply_step(loaded.runtime, step, now, where)
                    save_loaded(uow, loaded, now=now)
            uow.commit()


def test_cases_of_release_83599e0_continue_after_db_upgrade(
    platform: Platform, upgraded: Settings, manifest: dict[str, Any]
) -> None:
    tenant = manifest["tenant"]
    waits = {entry["waits_for"] for entry in manifest["cases"]}
    assert waits >= {"complete", "service", "message", "timer"}
    failures = {}
    for entry in manifest["cases"]:
        case_id = uuid.UUID(entry["case"])
        try:
            continue_case(platform, tenant, case_id, entry)
        except Exception as exc:
            failures[f"{entry['scenario']} après {entry['done']} étapes"] = repr(exc)[:300]
            continue
        with platform.uow() as uow:
            loaded = load_case(uow, tenant, case_id)
        expect = entry["expect"]
        if "completed" in expect:
            done = loaded.case.status == CaseStatus.COMPLETED
            if done != expect["completed"]:
                failures[entry["scenario"]] = f"statut {loaded.case.status}"
        for key, value in (expect.get("data") or {}).items():
            if loaded.runtime.data.get(key) != value:
                got = loaded.runtime.data.get(key)
                failures[f"{entry['scenario']} après {entry['done']}"] = f"{key}={got!r}"
    assert not failures, json.dumps(failures, ensure_ascii=False, indent=1)
    verified = run_dematflow(
        upgraded, "audit", "verify", "--tenant", tenant, "--chain-only", timeout=300
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
