"""Fair share between tenants: a large commune's burst of signatures against small communes'
single acts, with fair share off then on, in one run.

Everything is real on 127.0.0.1: PostgreSQL (a database created for the bench), Redis (a
database of its own), `WORKERS` × `dematflow worker --queues signing --concurrency 2`. The
signature is a stand-in operation on the `signing` queue (`bench.sign_standin`, loaded by the
workers through `Settings.operation_modules` like the test suite's operations) that waits
`SIGN_S` in its act phase, as a remote signing call would: the bench measures the queueing, not
pyHanko. For each mode, on a fresh database and broker with the workers running: the large
tenant starts `BURST` cases one transaction each (each queues its signature job), then
`SMALL_TENANTS` tenants start one case each. Reported from the jobs table: the small tenants'
time to signature (job created → finished) p50/p99/max, the large tenant's drain time (its
first job created → its last finished: the cost of fair share), and the checks that every job
finished once (attempts = 1, no interruption) and was handed to the broker once (deliveries = 1)."""

from __future__ import annotations

import json
import os
import platform as host
import secrets
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import select

from bench.bench_load import Fleet, _pg, _siren, _wait
from engine.bootstrap import build_platform, prepare_database
from engine.domain.model import Actor
from engine.persistence import tables as t
from engine.services import admin
from engine.services import cases as case_services
from engine.services.admin import deploy_directory
from engine.settings import BrokerSettings, Settings
from engine.worker.app import connect_platform

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
WORK = RESULTS / "tmp-fair-share"
DB = "dematflow_bench_fair"
DB_URL = f"postgresql+psycopg://postgres@127.0.0.1/{DB}"
REDIS_URL = "redis://127.0.0.1:6379/11"
KEY_PREFIX = f"bench-fair-{os.getpid()}:"
"""Other benches share this Redis (and flush their own database): this run's keys have their
own prefix and only they are deleted."""
OPERATIONS = "bench.fair_share_operations"
BURST = int(os.environ.get("BENCH_BURST", "400"))
SMALL_TENANTS = int(os.environ.get("BENCH_SMALL_TENANTS", "299"))
BATCH = 50
"""The large tenant's cases are started 50 per transaction (a batch signing by its mayor)."""
SIGN_S = 0.6
"""A B-LTA signature with a loopback TSA takes about 0.65 s (shared/PROVEN.md)."""
WORKERS = 2
CONCURRENCY = 2
DEPTH_ON = 8
"""`fair_share_depth` of the "on" run: twice the worker processes of the queue."""
DRAIN_MAX_S = 600.0
LARGE = _siren(21750000)
SMALL = tuple(_siren(21010000 + i) for i in range(SMALL_TENANTS))
AGENT = Actor("user:agent.banc", frozenset({"agent"}), "Agent du banc")


def _settings(depth: int) -> Settings:
    return Settings(
        database_url=DB_URL,
        data_dir=WORK,
        operation_modules=[OPERATIONS],
        broker=BrokerSettings(url=REDIS_URL, key_prefix=KEY_PREFIX),
        fair_share_depth=depth,
    )


def _prepare(depth: int) -> None:
    """A fresh database (the stand-in signature procedure, the tenants), an empty broker.

    Its procedure lives apart from `bench/procedures`: it names an operation only this bench
    registers (`bench.fair_share_operations`), and `bench_engine` deploys that whole folder."""
    _pg(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    _pg(f"CREATE DATABASE {DB}")
    p = build_platform(_settings(depth))
    prepare_database(p)
    system = Actor.system("bench")
    with p.uow() as uow:
        deploy_directory(
            uow, HERE / "fair_share_procedures", operations=p.operations, now=p.clock()
        )
        for i, siren in enumerate((LARGE, *SMALL)):
            name = f"Commune du banc {i}"
            admin.create_tenant(uow, siren=siren, name=name, actor=system, now=p.clock())
        uow.commit()
    p.db.dispose()
    _clear_broker()


def _clear_broker() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{KEY_PREFIX}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def _start_workers(fleet: Fleet) -> None:
    logs = [
        fleet.spawn(
            f"worker-{i}", "worker", "--queues", "signing", "--concurrency", str(CONCURRENCY)
        )
        for i in range(WORKERS)
    ]
    for log in logs:
        _wait(fleet, lambda log=log: _ready(log.read_bytes()), f"worker {log.name}")


def _ready(log: bytes) -> bool:
    """Celery's "ready." line (INFO), or the start-up check run on `worker_ready` (warnings)."""
    return b" ready." in log or b"stockage d'archives" in log


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _jobs(p: Any) -> list[Any]:
    j = t.jobs.c
    with p.uow() as uow:
        return list(
            uow.connection.execute(
                select(
                    j.tenant,
                    j.state,
                    (j.attempts + j.interruptions).label("runs"),
                    j.deliveries,
                    j.created_at,
                    j.finished_at,
                )
            ).all()
        )


def run(depth: int) -> dict[str, Any]:
    _prepare(depth)
    logs = WORK / f"logs-depth-{depth}"
    logs.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DEMATFLOW_DATABASE_URL": DB_URL,
        "DEMATFLOW_BROKER__URL": REDIS_URL,
        "DEMATFLOW_BROKER__KEY_PREFIX": KEY_PREFIX,
        "DEMATFLOW_OPERATION_MODULES": json.dumps([OPERATIONS]),
        "DEMATFLOW_FAIR_SHARE_DEPTH": str(depth),
        "DEMATFLOW_DATA_DIR": str(WORK),
        "DEMATFLOW_SECRET_KEY": secrets.token_urlsafe(32),
        "PYTHONPATH": str(ROOT),
    }
    fleet = Fleet(env, logs)
    _app, p = connect_platform(_settings(depth))
    try:
        _start_workers(fleet)
        submitted = time.monotonic()
        batches = [[LARGE] * BATCH for _ in range(BURST // BATCH)] + [[siren] for siren in SMALL]
        for batch in batches:
            with p.uow() as uow:
                for siren in batch:
                    case_services.start_case(
                        uow,
                        tenant=siren,
                        procedure="signature_banc",
                        data={"duree": SIGN_S},
                        actor=AGENT,
                        now=p.clock(),
                    )
                uow.commit()
        submit_s = time.monotonic() - submitted
        _wait(
            fleet,
            lambda: all(row.state == "done" for row in _jobs(p)),
            "the jobs to finish",
            DRAIN_MAX_S,
        )
        rows = _jobs(p)
    finally:
        fleet.stop()
        p.db.dispose()
    small = [(r.finished_at - r.created_at).total_seconds() for r in rows if r.tenant != LARGE]
    large = [r for r in rows if r.tenant == LARGE]
    drain = max(r.finished_at for r in large) - min(r.created_at for r in large)
    return {
        "fair_share_depth": depth,
        "submit_s": round(submit_s, 2),
        "small_time_to_signature_s": {
            "p50": round(_percentile(small, 0.50), 2),
            "p99": round(_percentile(small, 0.99), 2),
            "max": round(max(small), 2),
        },
        "large_drain_s": round(drain.total_seconds(), 2),
        "jobs": len(rows),
        "run_more_than_once": sum(1 for r in rows if r.runs != 1),
        "handed_over_more_than_once": sum(1 for r in rows if r.deliveries != 1),
    }


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    RESULTS.mkdir(exist_ok=True)
    WORK.mkdir(parents=True, exist_ok=True)
    try:
        off, on = run(0), run(DEPTH_ON)
    finally:
        _pg(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        _clear_broker()
    result = {
        "bench": "small tenants' signatures during a large tenant's burst, fair share off vs on",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{host.machine()} {os.cpu_count()} CPU, Python {host.python_version()}",
        "burst": BURST,
        "small_tenants": SMALL_TENANTS,
        "sign_s": SIGN_S,
        "worker_processes": WORKERS * CONCURRENCY,
        "runs": {"off": off, "on": on},
        "small_p99_ratio_on_vs_off": round(
            on["small_time_to_signature_s"]["p99"] / off["small_time_to_signature_s"]["p99"], 3
        ),
        "large_drain_ratio_on_vs_off": round(on["large_drain_s"] / off["large_drain_s"], 3),
    }
    (RESULTS / "fair_share.json").write_text(
        json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    )
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
